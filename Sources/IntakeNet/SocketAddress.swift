// IntakeNet: listening-address parsing and listening sockets. Called once at start-up from
// the main thread; the sockets it returns are then owned by one event loop.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux

/// A `HOST:PORT` endpoint: IPv4 literal, `[IPv6]` literal or `localhost`.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    /// Parses `127.0.0.1:8080`, `[::1]:8080`, `localhost:0`, `0.0.0.0:80`. Nil when malformed.
    public init?(parsing text: String) {
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard !hostPart.isEmpty, let p = Int(portPart), (0...65535).contains(p), !portPart.hasPrefix("+") else { return nil }
        let h = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        var v4 = in_addr(), v6 = in6_addr()
        guard inet_pton(AF_INET, h, &v4) == 1 || inet_pton(AF_INET6, h, &v6) == 1 else { return nil }
        host = h
        port = p
    }

    public var isIPv6: Bool { host.contains(":") }
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A bound, listening, non-blocking TCP socket.
public struct ListeningSocket: Sendable {
    public let fd: Int32
    /// The bound endpoint (with the real port when 0 was asked for).
    public let endpoint: Endpoint

    /// Binds and listens. `backlog` is capped by the kernel's somaxconn.
    public static func bind(_ ep: Endpoint, backlog: Int32 = 4096) throws(IOError) -> ListeningSocket {
        let family = ep.isIPv6 ? AF_INET6 : AF_INET
        let fd = cil_socket_tcp(family)
        guard fd >= 0 else { throw IOError("socket", errno: errno) }
        _ = cil_set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        var rc: Int32
        if ep.isIPv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(ep.port).bigEndian)
            inet_pton(AF_INET6, ep.host, &a.sin6_addr)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(ep.port).bigEndian)
            inet_pton(AF_INET, ep.host, &a.sin_addr)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else { let e = errno; close(fd); throw IOError("bind \(ep)", errno: e) }
        guard listen(fd, backlog) == 0 else { let e = errno; close(fd); throw IOError("listen \(ep)", errno: e) }
        let port = localPort(fd)
        return ListeningSocket(fd: fd, endpoint: Endpoint(host: ep.host, port: port))
    }

    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        if Int32(storage.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        }
        return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
    }
}

/// The peer's address of a connected socket as text (IPv4 or IPv6), "" when unknown.
func peerAddress(_ fd: Int32) -> String {
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let ok = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) } }
    guard ok == 0 else { return "" }
    var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    if Int32(storage.ss_family) == AF_INET6 {
        withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
            var a = p.pointee.sin6_addr
            _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
        } }
    } else {
        withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
            var a = p.pointee.sin_addr
            _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        } }
    }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
