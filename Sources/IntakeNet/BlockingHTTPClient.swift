// IntakeNet: a small blocking HTTP/1.1 client for the operator CLI (`intake status` …) and for
// background delivery threads (app webhooks). One request per connection (`Connection: close`),
// plain http:// only, a deadline for the whole exchange, numeric hosts or `localhost`. Not for
// event-loop threads: it blocks the calling thread. Any thread.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux

public enum BlockingHTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct ClientError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
        init(_ m: String) { message = m }
    }

    /// `http://HOST:PORT/path?query` → (endpoint, path with query). Nil when not such a URL.
    public static func parse(url: String) -> (Endpoint, String)? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<slash])
        if !authority.contains(":") || authority.hasSuffix("]") { authority += ":80" }
        guard let ep = Endpoint(parsing: authority) else { return nil }
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        return (ep, path)
    }

    /// Sends one request and reads the whole answer, within `timeoutSeconds` in all.
    public static func request(_ method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                               timeoutSeconds: Double = 10) throws(ClientError) -> Response {
        guard let (ep, path) = parse(url: url) else { throw ClientError("not an http://HOST:PORT/path URL: \(url)") }
        let deadline = cil_monotonic_nanos() &+ UInt64(timeoutSeconds * 1e9)
        let fd = cil_socket_tcp(ep.isIPv6 ? AF_INET6 : AF_INET)  // non-blocking, close-on-exec
        guard fd >= 0 else { throw ClientError("socket: \(IOError("socket", errno: errno))") }
        defer { close(fd) }
        var rc: Int32
        if ep.isIPv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(ep.port).bigEndian)
            inet_pton(AF_INET6, ep.host, &a.sin6_addr)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(ep.port).bigEndian)
            inet_pton(AF_INET, ep.host, &a.sin_addr)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 && errno != EINPROGRESS { throw ClientError("connect \(ep): \(IOError("connect", errno: errno))") }
        try wait(fd, POLLOUT, deadline, "connect \(ep)")
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err != 0 { throw ClientError("connect \(ep): \(IOError("connect", errno: err))") }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(ep)\r\nConnection: close\r\nUser-Agent: intake-cli\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        let out = Array((head + "\r\n").utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { try wait(fd, POLLOUT, deadline, "send"); continue }
            throw ClientError("send: \(IOError("send", errno: errno))")
        }
        var input: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { input.append(contentsOf: buf[0..<n]); if input.count > 64 << 20 { throw ClientError("answer over 64 MiB") }; continue }
            if n == 0 { break }
            if errno == EAGAIN || errno == EINTR { try wait(fd, POLLIN, deadline, "read the answer"); continue }
            throw ClientError("recv: \(IOError("recv", errno: errno))")
        }
        return try parseResponse(input)
    }

    private static func wait(_ fd: Int32, _ events: Int32, _ deadline: UInt64, _ what: String) throws(ClientError) {
        while true {
            let now = cil_monotonic_nanos()
            guard now < deadline else { throw ClientError("\(what): timed out") }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ms = Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            let r = poll(&p, 1, ms)
            if r > 0 { return }
            if r < 0 && errno != EINTR { throw ClientError("\(what): poll failed") }
        }
    }

    static func parseResponse(_ input: [UInt8]) throws(ClientError) -> Response {
        guard let end = findHeaderEnd(input) else { throw ClientError("the answer has no complete HTTP header") }
        let headText = String(decoding: input[0..<end], as: UTF8.self)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw ClientError("bad status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        for l in lines where !l.isEmpty {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<c]), String(l[l.index(after: c)...]).trimmingSpacesAndTabs()))
        }
        var body = Array(input[(end + 4)...])
        let response = Response(status: status, headers: headers, body: body)
        if let te = response.header("Transfer-Encoding"), te.lowercased().contains("chunked") {
            body = try dechunk(body)
        } else if let cl = response.header("Content-Length"), let n = Int(cl), n <= body.count {
            body = Array(body[0..<n])
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func findHeaderEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    private static func dechunk(_ b: [UInt8]) throws(ClientError) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while true {
            guard let lineEnd = (i..<max(i, b.count - 1)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }) else {
                throw ClientError("truncated chunked body")
            }
            let sizeText = String(decoding: b[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingSpacesAndTabs(), radix: 16) else { throw ClientError("bad chunk size") }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= b.count else { throw ClientError("truncated chunk") }
            out.append(contentsOf: b[i..<(i + size)])
            i += size + 2
        }
    }
}

extension StringProtocol {
    func trimmingSpacesAndTabs() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
