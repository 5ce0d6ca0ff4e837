@testable import OrchCollector
import Testing

@Suite struct PasswordHasherTests {
    /// A published bcrypt test vector (Openwall crypt_blowfish): "U*U" at cost 5.
    static let vector = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"

    @Test func verifiesAKnownVector() {
        #expect(PasswordHasher.verify(password: "U*U", hash: Self.vector))
        #expect(!PasswordHasher.verify(password: "U*V", hash: Self.vector))
        #expect(!PasswordHasher.verify(password: "", hash: Self.vector))
        // $2b$ and $2y$ compute the same hash as $2a$ for ASCII passwords.
        for prefix in ["$2b$", "$2y$"] {
            let h = prefix + Self.vector.dropFirst(4)
            #expect(PasswordHasher.verify(password: "U*U", hash: h), "\(prefix)")
        }
    }

    @Test func hashesWithLibcryptAndVerifies() throws {
        let h = try PasswordHasher.hash(password: "correct horse", cost: 4)
        #expect(h.hasPrefix("$2b$04$"))
        #expect(PasswordHasher.bcryptCost(h) == 4)
        #expect(PasswordHasher.verify(password: "correct horse", hash: h))
        #expect(!PasswordHasher.verify(password: "correct horsf", hash: h))
        #expect(!PasswordHasher.verify(password: "correct horse ", hash: h))
        let again = try PasswordHasher.hash(password: "correct horse", cost: 4)
        #expect(again != h, "a fresh salt each time")
        #expect(PasswordHasher.verify(password: "pässwörd", hash: try PasswordHasher.hash(password: "pässwörd", cost: 4)))
    }

    @Test func rejectsMalformedHashesAndNULPasswords() throws {
        for bad in ["", "$2b$", "$1$saltsalt$abcdefghijklmnopqrstuv", "$2b$32$" + String(repeating: "a", count: 53),
                    "$2b$03$" + String(repeating: "a", count: 53), "$2x$05$" + String(repeating: "a", count: 53),
                    "$2b$05$" + String(repeating: "a", count: 52) + "!", String(Self.vector.dropLast())] {
            #expect(PasswordHasher.bcryptCost(bad) == nil, "\(bad)")
            #expect(!PasswordHasher.verify(password: "U*U", hash: bad), "\(bad)")
        }
        #expect(!PasswordHasher.verify(password: "U*U\0extra", hash: Self.vector))
        #expect(throws: CollectorError.self) { try PasswordHasher.hash(password: "a\0b", cost: 4) }
        #expect(throws: CollectorError.self) { try PasswordHasher.hash(password: "a", cost: 3) }
    }

    @Test func constantTimeEquality() {
        #expect(PasswordHasher.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!PasswordHasher.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!PasswordHasher.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!PasswordHasher.constantTimeEquals([], [0]))
        #expect(PasswordHasher.constantTimeEquals([], []))
    }
}
