// IntakeNet: the one place where system-call results become typed errors. EINTR is retried
// here; EAGAIN is reported as a value, never as an error. Stateless; any thread.
#if canImport(Glibc)
import Glibc
#endif

/// An operating-system error with the call that failed.
public struct IOError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let errno: Int32
    public init(_ call: String, errno: Int32) { self.call = call; self.errno = errno }
    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The outcome of a non-blocking read or write.
@usableFromInline
enum IOResult: Equatable {
    case processed(Int)
    case wouldBlock
    case eof
}

@inline(__always)
func retryingEINTR(_ body: () -> Int) -> (Int, Int32) {
    while true {
        let r = body()
        if r >= 0 { return (r, 0) }
        let e = errno
        if e != EINTR { return (r, e) }
    }
}
