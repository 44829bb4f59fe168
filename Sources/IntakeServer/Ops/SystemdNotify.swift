// IntakeServer/Ops: the systemd notification protocol (sd_notify(3)) without libsystemd: one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). Used for
// `Type=notify` units: READY=1 once the listeners are up and the store is recovered, STOPPING=1
// when a shutdown starts. Without $NOTIFY_SOCKET (not under systemd) it does nothing.
import Glibc

public enum SystemdNotify {
    /// Sends `state` (newline-separated `KEY=VALUE` lines) to systemd; returns false (and
    /// changes nothing) when $NOTIFY_SOCKET is unset or the datagram cannot be sent.
    @discardableResult
    public static func send(_ state: String, socketPath: String? = ProcessEnvironment.current["NOTIFY_SOCKET"]) -> Bool {
        guard let path = socketPath, !path.isEmpty else { return false }
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }  // Linux abstract namespace: a leading NUL
        guard bytes.first == UInt8(ascii: "/") || abstract else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == message.count
    }
}
