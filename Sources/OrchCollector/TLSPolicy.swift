import COrchGnuTLS
import COrchMicroHTTPD
import Glibc

/// One loaded `tls_server_config`, as GnuTLS objects that new connections are given.
///
/// libmicrohttpd creates a GnuTLS session per connection with the daemon's credentials
/// and priorities; when the connection starts (`MHD_CONNECTION_NOTIFY_STARTED`, before the
/// handshake) `apply(to:)` replaces them with this policy's: its certificate and key, its
/// versions, ciphers and curves, and the client certificate policy of `client_auth_type`,
/// which GnuTLS enforces during the handshake as Go's `tls.Config.ClientAuth` does:
///
/// | client_auth_type | asks | requires | verifies against the client CAs |
/// |---|---|---|---|
/// | NoClientCert | no | no | no |
/// | RequestClientCert | yes | no | no |
/// | RequireAnyClientCert | yes | yes | no |
/// | VerifyClientCertIfGiven | yes | no | when one is sent |
/// | RequireAndVerifyClientCert | yes | yes | yes |
///
/// Verification is a chain to `client_ca_file` / `client_ca` (the system trust store when
/// neither is set, as Go) for TLS client authentication (a certificate whose extended key
/// usage excludes it fails). `client_allowed_sans` then requires a DNS, e-mail, IP or URI SAN
/// equal to one listed. A failure ends the handshake.
///
/// A policy is immutable; each connection holds a reference for its lifetime, so a reload
/// never frees objects a connection still uses.
final class TLSPolicy: @unchecked Sendable {
    // @unchecked: the GnuTLS credentials and priority cache are written only in init and
    // GnuTLS allows one set of them to be shared by concurrent sessions; deinit runs when no
    // connection holds the policy any more.
    let config: WebConfig.TLSServerConfig
    private let credentials: gnutls_certificate_credentials_t
    private let priority: gnutls_priority_t

    /// Builds the credentials (certificate, key, client CAs) and priorities. Throws `.config`
    /// naming the key whose material GnuTLS refused, or `.io` for a file that cannot be read.
    init(_ tls: WebConfig.TLSServerConfig) throws {
        config = tls
        let pem = try tls.loadCertificateAndKey()
        let clientCA = try tls.loadClientCA()

        var cred: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&cred) == GNUTLS_E_SUCCESS, let cred else {
            throw CollectorError(.library, "tls_server_config: cannot allocate GnuTLS credentials")
        }
        var prio: gnutls_priority_t?
        do {
            var rc = Self.withDatum(pem.certificate) { c in
                Self.withDatum(pem.key) { k in gnutls_certificate_set_x509_key_mem2(cred, c, k, GNUTLS_X509_FMT_PEM, nil, 0) }
            }
            guard rc >= 0 else {
                throw CollectorError(.config, "tls_server_config.cert/key: failed to load the X.509 key pair: \(Self.reason(rc))")
            }
            if let clientCA {
                rc = Self.withDatum(clientCA) { gnutls_certificate_set_x509_trust_mem(cred, $0, GNUTLS_X509_FMT_PEM) }
                guard rc >= 0 else {
                    throw CollectorError(.config, "tls_server_config.client_ca_file: cannot load the client CAs: \(Self.reason(rc))")
                }
            } else if tls.clientAuth.verifies {
                rc = gnutls_certificate_set_x509_system_trust(cred)
                guard rc >= 0 else {
                    throw CollectorError(.config, "tls_server_config.client_auth_type: no client_ca_file, and the system trust store cannot be loaded: \(Self.reason(rc))")
                }
            }
            var errorAt: UnsafePointer<CChar>?
            let priorities = tls.gnutlsPriorities
            rc = gnutls_priority_init(&prio, priorities, &errorAt)
            guard rc == GNUTLS_E_SUCCESS, prio != nil else {
                let at = errorAt.map { " at \"\(String(cString: $0))\"" } ?? ""
                throw CollectorError(.config, "tls_server_config: GnuTLS refuses the priorities \"\(priorities)\"\(at): \(Self.reason(rc))")
            }
        } catch {
            gnutls_certificate_free_credentials(cred)
            throw error
        }
        credentials = cred
        priority = prio!
    }

    deinit {
        gnutls_priority_deinit(priority)
        gnutls_certificate_free_credentials(credentials)
    }

    /// Gives a new connection's session this policy (before its handshake).
    func apply(to session: gnutls_session_t) {
        _ = gnutls_priority_set(session, priority)
        _ = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials))
        if config.clientAuth.requests {
            gnutls_certificate_server_set_request(session, config.clientAuth.requires ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST)
            gnutls_session_set_verify_function(session, orchCollectorVerifyClientCertificate)
        }
        if config.restrictedSuites != nil {
            gnutls_handshake_set_hook_function(session, UInt32(GNUTLS_HANDSHAKE_FINISHED.rawValue), GNUTLS_HOOK_POST,
                                               orchCollectorCheckCipherSuite)
        }
    }

    /// Makes a new connection's handshake fail (the web config cannot be loaded).
    static func refuse(_ session: gnutls_session_t) {
        gnutls_handshake_set_post_client_hello_function(session, orchCollectorRefuseHandshake)
    }

    /// Decides the client certificate of a finished TLS exchange; nil when it passes,
    /// else why not (for the log).
    func checkClientCertificate(_ session: gnutls_session_t) -> String? {
        var count: UInt32 = 0
        let peers = gnutls_certificate_get_peers(session, &count)
        guard let peers, count > 0 else {
            if config.clientAuth.requires { return "no client certificate" }
            // exporter-toolkit's SAN check indexes the first certificate: without one the
            // connection fails there (Go recovers the panic and closes it).
            return config.clientAllowedSANs == nil ? nil : "no client certificate to check client_allowed_sans against"
        }
        if config.clientAuth.verifies {
            var status: UInt32 = 0
            let rc = COrchGnuTLS_verifyPeersForPurpose(session, COrchGnuTLS_clientAuthPurpose(), &status)
            guard rc == GNUTLS_E_SUCCESS else { return "cannot verify the client certificate: \(Self.reason(rc))" }
            guard status == 0 else {
                var out = gnutls_datum_t()
                _ = gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0)
                defer { COrchGnuTLS_free(out.data) }
                return "client certificate: " + (out.data.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) } ?? "not trusted")
            }
        }
        guard let allowed = config.clientAllowedSANs else { return nil }
        let sans = Self.subjectAltNames(peers[0])
        if sans.contains(where: allowed.contains) { return nil }
        return "could not find allowed SANs in client cert, found: \(sans)"
    }

    /// The DNS, e-mail, URI and IP SANs of a DER certificate, as Go lists them.
    static func subjectAltNames(_ der: gnutls_datum_t) -> [String] {
        var crt: gnutls_x509_crt_t?
        guard gnutls_x509_crt_init(&crt) == GNUTLS_E_SUCCESS, let crt else { return [] }
        defer { gnutls_x509_crt_deinit(crt) }
        var datum = der
        guard gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS else { return [] }
        var names: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for seq in UInt32(0)..<1024 {
            var size = buffer.count
            var critical: UInt32 = 0
            let type = buffer.withUnsafeMutableBytes { gnutls_x509_crt_get_subject_alt_name(crt, seq, $0.baseAddress, &size, &critical) }
            if type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE { break }
            if type < 0 { continue }
            let bytes = Array(buffer.prefix(min(size, buffer.count)))
            switch gnutls_x509_subject_alt_name_t(UInt32(type)) {
            case GNUTLS_SAN_DNSNAME, GNUTLS_SAN_RFC822NAME, GNUTLS_SAN_URI:
                names.append(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
            case GNUTLS_SAN_IPADDRESS:
                if let ip = ipString(bytes) { names.append(ip) }
            default: break
            }
        }
        return names
    }

    /// An IPv4 or IPv6 address in Go's `net.IP.String()` form.
    private static func ipString(_ raw: [UInt8]) -> String? {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family: Int32
        var bytes = raw
        switch raw.count {
        case 4: family = AF_INET
        case 16:
            // Go prints an IPv4-mapped IPv6 address as IPv4.
            if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xff && raw[11] == 0xff {
                family = AF_INET
                bytes = Array(raw[12...])
            } else {
                family = AF_INET6
            }
        default: return nil
        }
        guard inet_ntop(family, &bytes, &out, socklen_t(out.count)) != nil else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// nil when a TLS ≤ 1.2 session negotiated a suite `cipher_suites` lists, else the
    /// suite it negotiated (GnuTLS's name). Called when the Finished messages are exchanged.
    func disallowedNegotiatedSuite(_ session: gnutls_session_t) -> String? {
        guard let suites = config.restrictedSuites, gnutls_protocol_get_version(session) != GNUTLS_TLS1_3 else { return nil }
        let kx = gnutls_kx_get(session), cipher = gnutls_cipher_get(session), mac = gnutls_mac_get(session)
        let listed = suites.contains {
            gnutls_kx_get_id($0.kx) == kx && gnutls_cipher_get_id($0.cipher) == cipher && gnutls_mac_get_id($0.mac) == mac
        }
        return listed ? nil : gnutls_cipher_suite_get_name(kx, cipher, mac).map { String(cString: $0) } ?? "an unknown suite"
    }

    static func reason(_ rc: Int32) -> String { String(cString: gnutls_strerror(rc)) }

    private static func withDatum<R>(_ bytes: [UInt8], _ body: (UnsafePointer<gnutls_datum_t>) -> R) -> R {
        var copy = bytes
        return copy.withUnsafeMutableBufferPointer { buf in
            var datum = gnutls_datum_t(data: buf.baseAddress, size: UInt32(buf.count))
            return body(&datum)
        }
    }
}

// MARK: - GnuTLS callbacks (free functions: called on libmicrohttpd's threads)

/// The policy of the connection that owns `session` (libmicrohttpd sets the session's
/// pointer to its connection; the connection's socket context holds the policy).
private func orchCollectorPolicy(_ session: gnutls_session_t?) -> (TLSPolicy, TLSConnectionState)? {
    guard let session, let connection = gnutls_session_get_ptr(session),
          let context = COrchMicroHTTPD_socketContext(OpaquePointer(connection))
    else { return nil }
    let state = Unmanaged<TLSConnectionState>.fromOpaque(context).takeUnretainedValue()
    guard let policy = state.policy else { return nil }
    return (policy, state)
}

/// GnuTLS's certificate verify function: non-zero fails the handshake.
private func orchCollectorVerifyClientCertificate(_ session: gnutls_session_t?) -> Int32 {
    guard let session, let (policy, state) = orchCollectorPolicy(session) else { return GNUTLS_E_CERTIFICATE_ERROR }
    if let why = policy.checkClientCertificate(session) {
        state.log?("TLS handshake refused: \(why)")
        return GNUTLS_E_CERTIFICATE_ERROR
    }
    return 0
}

/// After the ServerHello: a TLS ≤ 1.2 suite `cipher_suites` does not list ends the handshake.
private func orchCollectorCheckCipherSuite(_ session: gnutls_session_t?, _ type: UInt32, _ when: UInt32, _ incoming: UInt32,
                                           _ message: UnsafePointer<gnutls_datum_t>?) -> Int32 {
    guard let session, let (policy, state) = orchCollectorPolicy(session) else { return GNUTLS_E_INTERNAL_ERROR }
    if let suite = policy.disallowedNegotiatedSuite(session) {
        state.log?("TLS handshake refused: the client offers none of the allowed TLS 1.2 suites (cipher_suites, or Go's defaults); it would get \(suite)")
        return GNUTLS_E_NO_CIPHER_SUITES
    }
    return 0
}

/// Fails the handshake of a connection that arrived while the web config was broken.
private func orchCollectorRefuseHandshake(_ session: gnutls_session_t?) -> Int32 { GNUTLS_E_INTERNAL_ERROR }

/// What a TLS connection's socket context holds: the policy it started with.
final class TLSConnectionState: Sendable {
    /// nil when the web config could not be loaded as the connection started.
    let policy: TLSPolicy?
    let log: (@Sendable (String) -> Void)?

    init(policy: TLSPolicy?, log: (@Sendable (String) -> Void)?) {
        self.policy = policy
        self.log = log
    }
}
