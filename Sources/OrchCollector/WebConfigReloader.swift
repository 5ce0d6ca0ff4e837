import Glibc
import Synchronization
import OrchYAML

/// The web config as it is now, re-read as exporter-toolkit re-reads it: the file for every
/// request (headers, basic auth users) and the file with its certificate, key and client CA
/// files for every new TLS connection (everything under `tls_server_config`).
///
/// A file is parsed again only when it changed (device, inode, size, modification or change
/// time differ), so a request costs a `stat` per file, not a parse. As upstream, there is no
/// fallback to an older good file: while the file is broken, requests get 500 and new TLS
/// handshakes fail; the error is logged once per distinct message. Fixed at start, as
/// upstream: whether the server speaks TLS, `rate_limit`, and `http2`.
final class WebConfigReloader: Sendable {
    /// The file; nil for a config built in memory, which never changes.
    let path: String?
    private let logger: (@Sendable (String) -> Void)?
    private let state: Mutex<State>

    private struct State {
        var configSignature: [FileSignature]
        var config: Result<WebConfig, CollectorError>
        var policySignature: [FileSignature]?
        var policy: Result<TLSPolicy, CollectorError>?
        var lastConfigError: String?
        var lastPolicyError: String?
    }

    /// Starts from `initial` (already loaded and checked) and its TLS policy, if any.
    init(initial: WebConfig, policy: TLSPolicy?, logger: (@Sendable (String) -> Void)?) {
        path = initial.path
        self.logger = logger
        let signature = initial.path.map { [FileSignature($0)] } ?? []
        let policySignature = policy.map { signature + $0.config.files.map(FileSignature.init) }
        state = Mutex(State(configSignature: signature, config: .success(initial), policySignature: policySignature,
                            policy: policy.map { .success($0) }, lastConfigError: nil, lastPolicyError: nil))
    }

    /// The config for a request; the file's error while it cannot be parsed.
    func config() -> Result<WebConfig, CollectorError> {
        let (result, newError) = state.withLock { s -> (Result<WebConfig, CollectorError>, String?) in
            refreshConfig(&s)
            return (s.config, noteError(&s.lastConfigError, s.config))
        }
        if let newError { logger?(newError) }
        return result
    }

    /// The TLS policy for a new connection; an error when the file, its certificate files,
    /// or GnuTLS refuse, or when the file no longer configures TLS.
    func policy() -> Result<TLSPolicy, CollectorError> {
        let (result, newError) = state.withLock { s -> (Result<TLSPolicy, CollectorError>, String?) in
            refreshConfig(&s)
            let r = refreshPolicy(&s)
            return (r, noteError(&s.lastPolicyError, r))
        }
        if let newError { logger?(newError) }
        return result
    }

    private func refreshConfig(_ s: inout State) {
        guard let path else { return }
        let signature = [FileSignature(path)]
        guard signature != s.configSignature else { return }
        s.configSignature = signature
        s.config = Result {
            do {
                let bytes = try WebConfigFiles.read(path, limit: YAMLNode.maxInputBytes)
                return try WebConfig.parse(bytes, path: path)
            } catch let e as CollectorError {
                throw e.message.hasPrefix("web config ") ? e : CollectorError(e.code, "web config \(e.message)", errno: e.errno)
            }
        }.mapError { $0 as? CollectorError ?? CollectorError(.config, "web config \(path): \($0)") }
    }

    private func refreshPolicy(_ s: inout State) -> Result<TLSPolicy, CollectorError> {
        let config: WebConfig
        switch s.config {
        case .failure(let e): return .failure(e)
        case .success(let c): config = c
        }
        guard let tls = config.tls else {
            return .failure(CollectorError(.config, "web config \(path ?? "(in memory)"): TLS config is not present (the server was started with TLS; restart it to serve plain HTTP)"))
        }
        let signature = s.configSignature + tls.files.map(FileSignature.init)
        if let policy = s.policy, signature == s.policySignature { return policy }
        let built = Result { try TLSPolicy(tls) }.mapError { e -> CollectorError in
            let c = e as? CollectorError ?? CollectorError(.config, "\(e)")
            return CollectorError(c.code, "web config \(path ?? "(in memory)"): \(c.message)", errno: c.errno)
        }
        s.policy = built
        s.policySignature = signature
        return built
    }

    /// The message to log when `result` is an error not logged yet; resets on success.
    private func noteError<T>(_ last: inout String?, _ result: Result<T, CollectorError>) -> String? {
        switch result {
        case .success:
            last = nil
            return nil
        case .failure(let e):
            guard e.message != last else { return nil }
            last = e.message
            return "\(e.message) (requests get 500 and new TLS connections are refused until the file is fixed)"
        }
    }
}

/// What identifies a file's content without reading it; equal signatures mean unchanged.
struct FileSignature: Equatable, Sendable {
    private let fields: [Int]

    /// Stats `path`; a file that cannot be stat'ed has a signature of its errno.
    init(_ path: String) {
        var st = stat()
        var rc: Int32
        repeat { rc = stat(path, &st) } while rc != 0 && errno == EINTR
        if rc != 0 {
            fields = [-1, Int(errno)]
        } else {
            fields = [Int(st.st_dev), Int(st.st_ino), Int(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                      st.st_ctim.tv_sec, st.st_ctim.tv_nsec]
        }
    }
}
