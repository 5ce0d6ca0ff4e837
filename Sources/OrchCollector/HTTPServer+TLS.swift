import COrchGnuTLS
import COrchMicroHTTPD

/// libmicrohttpd's connection notifier (TLS servers only): as a connection starts, before
/// its handshake, it gets the web config's current TLS policy — exporter-toolkit's
/// `GetConfigForClient`, which re-reads the file for every new connection — or, while the
/// file is broken, a handshake that fails. The policy is kept in the connection's socket
/// context and released when it closes.
func orchCollectorConnectionNotify(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                                   _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                   _ code: MHD_ConnectionNotificationCode) {
    guard let cls, let connection, let socketContext else { return }
    switch code {
    case .CONNECTION_NOTIFY_STARTED:
        guard let raw = COrchMicroHTTPD_tlsSession(connection) else { return }
        let session = OpaquePointer(raw)
        let context = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        let state: TLSConnectionState
        switch context.webConfig.policy() {
        case .success(let policy):
            policy.apply(to: session)
            state = TLSConnectionState(policy: policy, log: context.logger)
        case .failure:
            TLSPolicy.refuse(session)
            state = TLSConnectionState(policy: nil, log: context.logger)
        }
        socketContext.pointee = Unmanaged.passRetained(state).toOpaque()
    case .CONNECTION_NOTIFY_CLOSED:
        if let state = socketContext.pointee {
            Unmanaged<TLSConnectionState>.fromOpaque(state).release()
            socketContext.pointee = nil
        }
    default:
        break
    }
}
