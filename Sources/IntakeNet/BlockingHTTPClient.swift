// IntakeNet: a small blocking HTTP/1.1 client for the operator CLI (`intake status` …) and for
// background delivery threads (app webhooks, the WeChat API). One request per connection
// (`Connection: close`), http:// or https:// (OpenSSL, the system's CA store — or the file in
// $SSL_CERT_FILE —, SNI and host-name verification), host names resolved with getaddrinfo,
// a deadline for the whole exchange. Not for event-loop threads: it blocks the calling thread.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import COpenSSL

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

    /// A parsed URL.
    public struct Target: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var path: String
        public var tls: Bool
        /// `host:port` for the Host header (IPv6 in brackets).
        var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// `http[s]://HOST[:PORT]/path?query` → the target. Nil when not such a URL.
    public static func parse(url: String) -> Target? {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) } else if url.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) } else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = Substring(""), port = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }; port = p }
            else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty, !host.contains("@"), !host.contains(" ") else { return nil }
        return Target(host: String(host), port: port, path: path, tls: tls)
    }

    /// Sends one request and reads the whole answer, within `timeoutSeconds` in all.
    public static func request(_ method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                               timeoutSeconds: Double = 10) throws(ClientError) -> Response {
        guard let t = parse(url: url) else { throw ClientError("not an http(s)://HOST[:PORT]/path URL: \(url)") }
        let deadline = cil_monotonic_nanos() &+ UInt64(timeoutSeconds * 1e9)
        let fd = try connect(t, deadline)
        defer { close(fd) }
        var head = "\(method) \(t.path) HTTP/1.1\r\nHost: \(t.authority)\r\nConnection: close\r\nUser-Agent: intake\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        let out = Array((head + "\r\n").utf8) + body
        var transport: Transport = t.tls ? try TLSTransport(fd: fd, host: t.host, deadline: deadline) : PlainTransport(fd: fd)
        defer { transport.shutdown() }
        let outBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, out.count), alignment: 1)
        defer { outBytes.deallocate() }
        outBytes.copyBytes(from: out)
        var sent = 0
        while sent < out.count {
            sent += try transport.write(outBytes.baseAddress! + sent, out.count - sent, deadline)
        }
        var input: [UInt8] = []
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
        defer { buf.deallocate() }
        while true {
            let n = try transport.read(buf.baseAddress!, buf.count, deadline)
            if n == 0 { break }
            input.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            if input.count > 64 << 20 { throw ClientError("answer over 64 MiB") }
        }
        return try parseResponse(input)
    }

    /// A connected non-blocking socket to the first address of `t.host` that answers.
    private static func connect(_ t: Target, _ deadline: UInt64) throws(ClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(t.host, String(t.port), &hints, &list)
        guard rc == 0, let first = list else { throw ClientError("cannot resolve \(t.host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = cil_socket_tcp(a.pointee.ai_family)  // non-blocking, close-on-exec
            guard fd >= 0 else { lastError = "\(IOError("socket", errno: errno))"; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = "\(IOError("connect", errno: errno))"; close(fd); continue
            }
            do {
                try wait(fd, POLLOUT, deadline, "connect \(t.authority)")
            } catch {
                close(fd); throw error
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err == 0 { return fd }
            lastError = "\(IOError("connect", errno: err))"
            close(fd)
        }
        throw ClientError("connect \(t.authority): \(lastError)")
    }

    static func wait(_ fd: Int32, _ events: Int32, _ deadline: UInt64, _ what: String) throws(ClientError) {
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
        } else if let cl = response.header("Content-Length"), let n = Int(cl) {
            guard n <= body.count else { throw ClientError("the answer was cut: \(body.count) of \(n) bytes") }
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

/// Bytes to and from the server: the socket itself or a TLS session over it.
protocol Transport {
    mutating func write(_ p: UnsafeRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int
    /// 0 at the end of the answer.
    mutating func read(_ p: UnsafeMutableRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int
    mutating func shutdown()
}

struct PlainTransport: Transport {
    let fd: Int32
    func write(_ p: UnsafeRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int {
        while true {
            let r = send(fd, p, n, Int32(MSG_NOSIGNAL))
            if r > 0 { return r }
            if r < 0 && (errno == EAGAIN || errno == EINTR) { try BlockingHTTPClient.wait(fd, POLLOUT, deadline, "send"); continue }
            throw BlockingHTTPClient.ClientError("send: \(IOError("send", errno: errno))")
        }
    }
    func read(_ p: UnsafeMutableRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int {
        while true {
            let r = recv(fd, p, n, 0)
            if r >= 0 { return r }
            if errno == EAGAIN || errno == EINTR { try BlockingHTTPClient.wait(fd, POLLIN, deadline, "read the answer"); continue }
            throw BlockingHTTPClient.ClientError("recv: \(IOError("recv", errno: errno))")
        }
    }
    func shutdown() {}
}

/// A TLS 1.2/1.3 client session: the system's CA store ($SSL_CERT_FILE / $SSL_CERT_DIR honoured),
/// SNI, and the certificate checked against the host name.
struct TLSTransport: Transport {
    let fd: Int32
    let ctx: OpaquePointer
    let ssl: OpaquePointer

    init(fd: Int32, host: String, deadline: UInt64) throws(BlockingHTTPClient.ClientError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw .init("TLS: cannot create a context") }
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        // Many servers close without close_notify; the answer's framing (Content-Length or
        // chunked, checked in parseResponse) is what tells a complete answer from a cut one.
        _ = SSL_CTX_set_options(ctx, UInt64(1) << 7)  // SSL_OP_IGNORE_UNEXPECTED_EOF
        if SSL_CTX_set_default_verify_paths(ctx) != 1 { SSL_CTX_free(ctx); throw .init("TLS: no CA store") }
        guard let ssl = SSL_new(ctx) else { SSL_CTX_free(ctx); throw .init("TLS: cannot create a session") }
        self.fd = fd
        self.ctx = ctx
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        var v4 = in_addr(), v6 = in6_addr()
        let literal = inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
        if !literal {
            _ = host.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        _ = SSL_set1_host(ssl, host)
        while true {
            let r = SSL_connect(ssl)
            if r == 1 { break }
            let e = SSL_get_error(ssl, r)
            do {
                if e == SSL_ERROR_WANT_READ { try BlockingHTTPClient.wait(fd, POLLIN, deadline, "TLS handshake"); continue }
                if e == SSL_ERROR_WANT_WRITE { try BlockingHTTPClient.wait(fd, POLLOUT, deadline, "TLS handshake"); continue }
            } catch {
                SSL_free(ssl); SSL_CTX_free(ctx); throw error
            }
            let verify = SSL_get_verify_result(ssl)
            let why = verify != X509_V_OK ? String(cString: X509_verify_cert_error_string(verify)) : Self.lastError()
            SSL_free(ssl); SSL_CTX_free(ctx)
            throw .init("TLS handshake with \(host) failed: \(why)")
        }
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "connection closed" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func write(_ p: UnsafeRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int {
        while true {
            let r = SSL_write(ssl, p, Int32(min(n, Int(Int32.max))))
            if r > 0 { return Int(r) }
            let e = SSL_get_error(ssl, r)
            if e == SSL_ERROR_WANT_READ { try BlockingHTTPClient.wait(fd, POLLIN, deadline, "TLS send"); continue }
            if e == SSL_ERROR_WANT_WRITE { try BlockingHTTPClient.wait(fd, POLLOUT, deadline, "TLS send"); continue }
            throw .init("TLS send failed: \(Self.lastError())")
        }
    }

    func read(_ p: UnsafeMutableRawPointer, _ n: Int, _ deadline: UInt64) throws(BlockingHTTPClient.ClientError) -> Int {
        while true {
            let r = SSL_read(ssl, p, Int32(min(n, Int(Int32.max))))
            if r > 0 { return Int(r) }
            let e = SSL_get_error(ssl, r)
            if e == SSL_ERROR_ZERO_RETURN { return 0 }
            if e == SSL_ERROR_WANT_READ { try BlockingHTTPClient.wait(fd, POLLIN, deadline, "TLS read"); continue }
            if e == SSL_ERROR_WANT_WRITE { try BlockingHTTPClient.wait(fd, POLLOUT, deadline, "TLS read"); continue }
            if e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 { return 0 }  // EOF without close_notify: HTTP framing decides
            throw .init("TLS read failed: \(Self.lastError())")
        }
    }

    mutating func shutdown() {
        _ = SSL_shutdown(ssl)
        SSL_free(ssl)
        SSL_CTX_free(ctx)
    }
}
