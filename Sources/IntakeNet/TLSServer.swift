// IntakeNet: what a TLS listener shares between its connections: the current TLSContext
// (swapped on a certificate reload) and the handshake deadline. Any thread: the context is
// read under a short lock when a connection is adopted, and replaced under it on reload.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import IntakeTelemetry
import Synchronization

/// A listener's TLS settings. New connections take the context current when they are
/// adopted; existing connections keep theirs until they close.
public final class TLSServer: Sendable {
    private let current: Mutex<TLSContext>
    /// A connection that has not finished its handshake this long after it was accepted is
    /// closed (and counted as a handshake failure, reason `timeout`).
    public let handshakeTimeoutNanos: UInt64

    public init(context: TLSContext, handshakeTimeoutNanos: UInt64) {
        current = Mutex(context)
        self.handshakeTimeoutNanos = handshakeTimeoutNanos
        // The families appear on /metrics from the start, at 0.
        for reason in TLSHandshakeFailure.allCases { _ = reason.counter }
        publish(context)
    }

    /// The context new connections use.
    public var context: TLSContext { current.withLock { $0 } }

    /// Makes `context` the one new connections use.
    public func replace(with context: TLSContext) {
        current.withLock { $0 = context }
        publish(context)
    }

    private func publish(_ context: TLSContext) {
        let notAfter = Double(context.certificate.notAfterEpochSeconds)
        MetricsRegistry.shared.gaugeFunction(
            "intake_tls_certificate_not_after_seconds",
            help: "End of validity of the TLS certificate in use, in seconds since the Unix epoch.") { notAfter }
    }
}

/// Why a TLS handshake did not complete, the `reason` label of
/// `intake_tls_handshake_failures_total`.
enum TLSHandshakeFailure: String, CaseIterable {
    /// The peer sent something that is not an acceptable ClientHello or handshake message
    /// (an old protocol version, no shared cipher, plaintext HTTP, garbage).
    case `protocol`
    /// The handshake did not finish within the header timeout.
    case timeout
    /// The peer closed the connection after it started the handshake.
    case closed

    var counter: Counter {
        MetricsRegistry.shared.counter("intake_tls_handshake_failures_total",
                                       help: "TLS handshakes that failed, by reason (protocol, timeout, closed).",
                                       labels: ["reason": rawValue])
    }
}

let tlsFailureCounters: [TLSHandshakeFailure: Counter] = Dictionary(
    uniqueKeysWithValues: TLSHandshakeFailure.allCases.map { ($0, $0.counter) })

/// Logs handshake failures at debug level, at most one line a second for the whole process
/// (a scanner or a flood of bad clients must not flood the log); the line says how many were
/// not logged since the previous one.
enum TLSFailureLog {
    private static let lastSecond = Atomic<UInt64>(0)
    private static let suppressed = Atomic<Int>(0)

    static func note(_ failure: TLSHandshakeFailure, detail: @autoclosure () -> String, fd: Int32) {
        tlsFailureCounters[failure]!.increment()
        guard Log.isEnabled(.debug) else { return }
        let second = cil_monotonic_nanos() / 1_000_000_000
        let last = lastSecond.load(ordering: .relaxed)
        guard second != last, lastSecond.compareExchange(expected: last, desired: second, ordering: .relaxed).exchanged else {
            suppressed.add(1, ordering: .relaxed)
            return
        }
        let skipped = suppressed.exchange(0, ordering: .relaxed)
        Log.debug("tls handshake failed", ["reason": .string(failure.rawValue), "detail": .string(detail()),
                                           "peer": .string(peerAddress(fd)), "notLogged": .int(skipped)])
    }
}
