// TLS for the load generator's connections (`wss://` URLs): one client SSL_CTX per process and
// an SSL per connection on its non-blocking socket. Benchmarks target loopback only, so the
// server's certificate is not verified: what is measured is the cost of the encryption and
// the handshake, not of a chain check. Each SSL is used by the thread of its ClientLoop only.
import COpenSSL

enum ClientTLS {
    /// The shared client context: TLS 1.2 or later, partial writes and a moving write buffer
    /// (a blocked write is retried from the connection's outbox).
    nonisolated(unsafe) static let context: OpaquePointer = {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { fatalError("BUG: SSL_CTX_new failed") }
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        return ctx
    }()

    /// A client SSL on `fd`, or nil.
    static func session(fd: Int32) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else { SSL_free(ssl); return nil }
        SSL_set_connect_state(ssl)
        return ssl
    }

    enum Step { case done, wantRead, wantWrite, failed(String) }

    /// What an SSL call's result asks for.
    static func step(_ ssl: OpaquePointer, _ r: Int32) -> Step {
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .failed("server closed the connection")
        default:
            let code = ERR_get_error()
            ERR_clear_error()
            var buf = [UInt8](repeating: 0, count: 256)
            buf.withUnsafeMutableBufferPointer { p in p.withMemoryRebound(to: CChar.self) { ERR_error_string_n(code, $0.baseAddress, $0.count) } }
            return .failed("tls: " + String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self))
        }
    }
}
