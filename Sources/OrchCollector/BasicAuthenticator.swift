import Synchronization

/// Basic auth against `basic_auth_users`, with exporter-toolkit's cache of verified results.
///
/// Each distinct (user, stored hash, password) triple costs one bcrypt verification; the
/// result is cached (at most `cacheSize` entries, a tenth evicted at random when full, as
/// upstream), so a scrape every few seconds costs no bcrypt after the first. The stored hash
/// is part of the key: a changed password in the file is never answered from the cache.
///
/// No timing oracle: an unknown user, or a request without usable credentials, is checked
/// against a dummy hash of the cost most users have (upstream uses a fixed cost-10 hash), so
/// it costs the same bcrypt as a wrong password of a real user — and is cached in the same way.
/// Verifications run one at a time (upstream's `bcryptMtx`), so a stream of bad passwords
/// burns at most one core.
final class BasicAuthenticator: Sendable {
    /// Entries kept (exporter-toolkit's `cacheSize`).
    static let cacheSize = 100

    private let verify: @Sendable (_ password: String, _ hash: String) -> Bool
    private let cache = Mutex<[String: Bool]>([:])
    private let dummyHashes = Mutex<[Int: String]>([:])
    private let bcryptLock = Mutex<Void>(())
    /// bcrypt verifications run so far (cache misses).
    let verifications = Atomic<Int>(0)

    /// `verify` checks a password against a bcrypt hash (tests inject a counting one).
    init(verify: @escaping @Sendable (_ password: String, _ hash: String) -> Bool = PasswordHasher.verify) {
        self.verify = verify
    }

    /// True when `credentials` name a user of `users` with the right password.
    func authenticate(users: [String: String], credentials: (user: String, password: String)?) -> Bool {
        let stored = credentials.flatMap { users[$0.user] }
        let hash = stored ?? dummyHash(for: users)
        let password = credentials?.password ?? ""
        // Length-prefixed so that no two triples share a key; "-" marks absent credentials.
        let user = credentials.map { "\($0.user.utf8.count):\($0.user)" } ?? "-"
        let key = "\(user)|\(hash)|\(password.utf8.count):\(password)"
        if let cached = cache.withLock({ $0[key] }) { return cached && stored != nil }
        let ok = bcryptLock.withLock { _ -> Bool in
            verifications.add(1, ordering: .relaxed)
            return verify(password, hash)
        }
        let result = ok && stored != nil
        cache.withLock { c in
            if c.count >= Self.cacheSize {
                // Evict about a tenth at random, as upstream's makeRoom.
                var rng = SystemRandomNumberGenerator()
                for _ in 0...max(c.count / 10, 1) {
                    guard !c.isEmpty else { break }
                    c.remove(at: c.index(c.startIndex, offsetBy: Int.random(in: 0..<c.count, using: &rng)))
                }
            }
            c[key] = result
        }
        return result
    }

    /// A bcrypt hash of a random secret at the cost most of `users` have (ties: the higher),
    /// made once per cost.
    private func dummyHash(for users: [String: String]) -> String {
        var counts: [Int: Int] = [:]
        for h in users.values { counts[PasswordHasher.bcryptCost(h) ?? 10, default: 0] += 1 }
        let cost = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }?.key ?? 10
        if let h = dummyHashes.withLock({ $0[cost] }) { return h }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<3).map { _ in String(rng.next(), radix: 36) }.joined()
        // Cannot fail for a cost of 4–31 and a password without NUL; a fixed well-formed hash
        // (upstream's, cost 10) stands in if libcrypt does.
        let made = (try? PasswordHasher.hash(password: secret, cost: cost)) ?? "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
        dummyHashes.withLock { $0[cost] = made }
        return made
    }

    /// Makes the dummy hash for `users` now, so the first unknown user is not slower.
    func prepare(for users: [String: String]) {
        if !users.isEmpty { _ = dummyHash(for: users) }
    }
}
