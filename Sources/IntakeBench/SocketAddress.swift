// Non-blocking connect() to a numeric loopback Endpoint (IPv4 or IPv6) without Foundation.
// Stateless; any thread.
import Glibc

enum SocketAddress {
    /// Starts connecting `fd` to `endpoint`; returns connect()'s result (EINPROGRESS in errno is normal).
    static func connect(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        if endpoint.isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            _ = inet_pton(AF_INET6, endpoint.host, &address.sin6_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        _ = inet_pton(AF_INET, endpoint.host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
