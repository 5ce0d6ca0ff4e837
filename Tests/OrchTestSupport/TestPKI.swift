import Foundation

/// A throwaway PKI made with the real `openssl` in a test's temporary directory: a CA, a
/// server certificate it signed (for 127.0.0.1 and localhost), and client certificates.
public struct TestPKI {
    /// The directory holding every file.
    public let dir: TempDir
    /// `ca.crt`: the CA that signed the server and the trusted clients.
    public var caCert: String { dir.sub("ca.crt") }
    /// `server.crt` / `server.key`.
    public var serverCert: String { dir.sub("server.crt") }
    public var serverKey: String { dir.sub("server.key") }

    /// Makes the CA, a second CA nobody trusts (`other-ca`), and the server certificate
    /// (`keyType` is an openssl `-newkey` argument: "rsa:2048", "ec" with P-256, …).
    public init(in dir: TempDir, keyType: String = "rsa:2048") throws {
        self.dir = dir
        try Self.selfSigned(dir, "ca", keyType: keyType)
        try Self.selfSigned(dir, "other-ca", keyType: keyType)
        try sign("server", by: "ca", keyType: keyType, extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    }

    /// Makes `<name>.crt` / `<name>.key` for TLS client authentication, signed by `ca`
    /// ("ca" or "other-ca"), with `sans` (openssl syntax: "DNS:a.example,IP:10.0.0.1").
    /// Returns curl's arguments that present it.
    @discardableResult
    public func client(_ name: String, signedBy ca: String = "ca", sans: String, keyType: String = "rsa:2048",
                       usage: String = "clientAuth") throws -> [String] {
        try sign(name, by: ca, keyType: keyType, extensions: "subjectAltName=\(sans)\nextendedKeyUsage=\(usage)\n")
        return ["--cert", dir.sub("\(name).crt"), "--key", dir.sub("\(name).key")]
    }

    private static func selfSigned(_ dir: TempDir, _ name: String, keyType: String) throws {
        try openssl(["req", "-x509", "-newkey", keyType] + curveArgs(keyType) + ["-nodes", "-keyout", dir.sub("\(name).key"),
                     "-out", dir.sub("\(name).crt"), "-days", "2", "-subj", "/CN=\(name)"])
    }

    private func sign(_ name: String, by ca: String, keyType: String, extensions: String) throws {
        try Self.openssl(["req", "-newkey", keyType] + Self.curveArgs(keyType) + ["-nodes", "-keyout", dir.sub("\(name).key"),
                          "-out", dir.sub("\(name).csr"), "-subj", "/CN=\(name)"])
        try extensions.write(toFile: dir.sub("\(name).ext"), atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", dir.sub("\(name).csr"), "-CA", dir.sub("\(ca).crt"), "-CAkey", dir.sub("\(ca).key"),
                          "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-out", dir.sub("\(name).crt"), "-days", "2",
                          "-extfile", dir.sub("\(name).ext")])
    }

    private static func curveArgs(_ keyType: String) -> [String] {
        keyType == "ec" ? ["-pkeyopt", "ec_paramgen_curve:prime256v1"] : []
    }

    private static func openssl(_ args: [String]) throws {
        let r = try run("/usr/bin/openssl", args)
        guard r.status == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")) failed: \(r.stderr)") }
    }
}
