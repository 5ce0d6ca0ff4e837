import COrchCrypt
import Glibc

/// bcrypt password hashing and verification through libcrypt (`crypt_rn`,
/// `crypt_gensalt_rn`), as used by `basic_auth_users` in the web config.
///
/// Only bcrypt hashes (`$2a$`, `$2b$`, `$2y$`, cost 4–31) are accepted, as in the
/// Prometheus exporter-toolkit. Verification compares the recomputed hash with the
/// stored one in constant time.
public enum PasswordHasher {
    /// The length of every bcrypt hash string: `$2b$` + 2 cost digits + `$` + 53 characters.
    public static let bcryptHashLength = 60

    /// Returns the cost (log2 of the rounds) of a well-formed bcrypt hash, or nil when
    /// `hash` is not one (wrong prefix, cost outside 4–31, wrong length or alphabet).
    public static func bcryptCost(_ hash: String) -> Int? {
        let b = Array(hash.utf8)
        guard b.count == bcryptHashLength,
              b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
              b[2] == UInt8(ascii: "a") || b[2] == UInt8(ascii: "b") || b[2] == UInt8(ascii: "y"),
              b[3] == UInt8(ascii: "$"), b[6] == UInt8(ascii: "$"),
              isDigit(b[4]), isDigit(b[5])
        else { return nil }
        let cost = Int(b[4] - 48) * 10 + Int(b[5] - 48)
        guard (4...31).contains(cost) else { return nil }
        for c in b[7...] where !isBcryptBase64(c) { return nil }
        return cost
    }

    /// True when `password` hashes to `hash` under bcrypt. False for a wrong password,
    /// a malformed hash, or a password containing a NUL byte (which C would truncate).
    /// Takes the full bcrypt time whenever `hash` is well-formed, whatever the password.
    public static func verify(password: String, hash: String) -> Bool {
        guard bcryptCost(hash) != nil else { return false }
        let hasNUL = password.utf8.contains(0)
        guard let computed = crypt(password: password, setting: hash) else { return false }
        return constantTimeEquals(Array(computed.utf8), Array(hash.utf8)) && !hasNUL
    }

    /// Hashes `password` with bcrypt (`$2b$`) at `cost` (4–31) and a random salt from the
    /// operating system. Throws `.invalidArgument` for a bad cost or a password with a NUL
    /// byte, `.library` when libcrypt fails.
    public static func hash(password: String, cost: Int = 10) throws -> String {
        guard (4...31).contains(cost) else {
            throw CollectorError(.invalidArgument, "bcrypt cost \(cost) is outside 4...31")
        }
        guard !password.utf8.contains(0) else {
            throw CollectorError(.invalidArgument, "password contains a NUL byte")
        }
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let p = crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &salt, Int32(salt.count))
        guard p != nil else {
            throw CollectorError.system("crypt_gensalt_rn($2b$, \(cost))")
        }
        let setting = String(decoding: salt.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let result = crypt(password: password, setting: setting), bcryptCost(result) != nil else {
            throw CollectorError(.library, "crypt_rn failed to produce a bcrypt hash")
        }
        return result
    }

    /// Byte-wise equality whose running time depends only on the lengths.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = a.count ^ b.count
        let n = Swift.max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= Int(x ^ y)
        }
        return diff == 0
    }

    // MARK: - private

    /// Runs `crypt_rn` with a freshly zeroed, heap-allocated `struct crypt_data` (about
    /// 32 KB, too large for a thread stack we do not own), wiped before it is freed.
    private static func crypt(password: String, setting: String) -> String? {
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            explicit_bzero(data, size)
            data.deallocate()
        }
        guard let out = crypt_rn(password, setting, data, Int32(size)) else { return nil }
        return String(cString: out)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    private static func isBcryptBase64(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")
    }
}
