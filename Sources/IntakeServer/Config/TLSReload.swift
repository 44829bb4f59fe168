// IntakeServer: the HTTP listener's TLS settings at start-up and their reload on SIGHUP
// (certificate rotation). Start-up runs on the main thread; the reload on the main queue.
import IntakeNet
import IntakeTelemetry
import Foundation

enum TLSReload {
    /// The listener's TLS settings from the configuration loaded at start-up, or nil for
    /// plaintext. With TLS, registers the certificate reload in `hooks`.
    static func setUp(config: ServerConfig, handshakeTimeoutNanos: UInt64, hooks: ReloadHooks) -> TLSServer? {
        guard let context = config.tlsContext, let certFile = config.tlsCert, let keyFile = config.tlsKey else { return nil }
        let server = TLSServer(context: context, handshakeTimeoutNanos: handshakeTimeoutNanos)
        logInUse(context, certFile: certFile, reloaded: false)
        hooks.add("tls_certificate") {
            do {
                let fresh = try TLSContext(certificateFile: certFile, privateKeyFile: keyFile)
                server.replace(with: fresh)
                logInUse(fresh, certFile: certFile, reloaded: true)
                return nil
            } catch {
                return "\(certFile), \(keyFile): \(error)"
            }
        }
        return server
    }

    private static func logInUse(_ context: TLSContext, certFile: String, reloaded: Bool) {
        let info = context.certificate
        let fields: KeyValuePairs<String, LogValue> = [
            "file": .string(certFile), "subject": .string(info.subject), "serial": .string(info.serial),
            "notAfter": .string(Log.rfc3339(epochMillis: info.notAfterEpochSeconds * 1000)),
        ]
        Log.info(reloaded ? "tls certificate reloaded; new connections use it" : "tls certificate loaded", fields)
        let secondsLeft = Double(info.notAfterEpochSeconds) - Date().timeIntervalSince1970
        if secondsLeft < 0 {
            Log.warning("tls certificate has expired; clients will refuse it", fields)
        } else if secondsLeft < 14 * 86_400 {
            Log.warning("tls certificate expires in less than 14 days", fields)
        }
    }
}
