// IntakeTestSupport: a blocking TCP client over loopback for tests, with timeouts on every
// read, so a test that waits for bytes that never come fails instead of hanging.
// One instance per test thread; not shared.
#if canImport(Glibc)
import Glibc
#endif

/// A test-side failure of the loopback client.
public struct TestSocketError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A blocking loopback TCP connection with an internal receive buffer.
public final class TestSocket {
    public let fd: Int32
    private var pending: [UInt8] = []
    public private(set) var isClosed = false

    /// Connects to 127.0.0.1:`port` (tests use loopback only), from the loopback address
    /// `source` when given (e.g. 127.0.0.2, to look like another client to per-IP limits).
    public init(port: Int, host: String = "127.0.0.1", source: String? = nil) throws {
        precondition(host.hasPrefix("127.") || host == "localhost", "tests only talk to loopback")
        precondition(source?.hasPrefix("127.") ?? true, "tests only talk to loopback")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSocketError("socket: errno \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let b = withUnsafePointer(to: &local) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard b == 0 else {
                let e = errno
                Glibc.close(fd)
                throw TestSocketError("bind \(source): errno \(e)")
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestSocketError("connect 127.0.0.1:\(port): errno \(e)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { if !isClosed { Glibc.close(fd) } }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestSocketError("send: errno \(errno)")
            }
            off += n
        }
    }

    /// Waits up to `timeout` seconds for more bytes; returns false on EOF.
    private func fill(deadline: Double) throws -> Bool {
        let remaining = deadline - Self.now()
        guard remaining > 0 else { throw TestSocketError("timed out waiting for bytes (have \(pending.count))") }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&pfd, 1, Int32(remaining * 1000) + 1)
        if r == 0 { throw TestSocketError("timed out waiting for bytes (have \(pending.count))") }
        if r < 0 { if errno == EINTR { return true }; throw TestSocketError("poll: errno \(errno)") }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if n < 0 {
            if errno == ECONNRESET { return false }
            throw TestSocketError("recv: errno \(errno)")
        }
        if n == 0 { return false }
        pending.append(contentsOf: buf[0..<n])
        return true
    }

    /// Whatever is available (at least one byte), or [] on EOF.
    public func receiveSome(timeout: Double = 5) throws -> [UInt8] {
        let deadline = Self.now() + timeout
        if pending.isEmpty { _ = try fill(deadline: deadline) }
        defer { pending.removeAll() }
        return pending
    }

    /// Exactly `count` bytes; throws on EOF before that or on timeout.
    public func receive(exactly count: Int, timeout: Double = 5) throws -> [UInt8] {
        let deadline = Self.now() + timeout
        while pending.count < count {
            guard try fill(deadline: deadline) else { throw TestSocketError("EOF after \(pending.count) of \(count) bytes") }
        }
        let out = Array(pending[0..<count])
        pending.removeFirst(count)
        return out
    }

    /// Bytes up to and including `delimiter`; throws on EOF or timeout.
    public func receive(through delimiter: [UInt8], timeout: Double = 5) throws -> [UInt8] {
        let deadline = Self.now() + timeout
        var searchFrom = 0
        while true {
            if pending.count >= delimiter.count {
                var i = searchFrom
                while i + delimiter.count <= pending.count {
                    if pending[i] == delimiter[0] && Array(pending[i..<(i + delimiter.count)]) == delimiter {
                        let out = Array(pending[0..<(i + delimiter.count)])
                        pending.removeFirst(i + delimiter.count)
                        return out
                    }
                    i += 1
                }
                searchFrom = max(0, pending.count - delimiter.count + 1)
            }
            guard try fill(deadline: deadline) else { throw TestSocketError("EOF before delimiter (have \(pending.count) bytes)") }
        }
    }

    /// One line without its "\n".
    public func receiveLine(timeout: Double = 5) throws -> String {
        let b = try receive(through: [0x0A], timeout: timeout)
        return String(decoding: b.dropLast(), as: UTF8.self)
    }

    /// Reads until the peer closes; returns everything read. Throws on timeout.
    public func receiveToEOF(timeout: Double = 5) throws -> [UInt8] {
        let deadline = Self.now() + timeout
        while try fill(deadline: deadline) {}
        defer { pending.removeAll() }
        return pending
    }

    /// True when the peer has closed the connection (EOF or reset) within `timeout`; bytes
    /// that arrive first are kept for later reads.
    public func waitForClose(timeout: Double = 5) -> Bool {
        let deadline = Self.now() + timeout
        while true {
            do { if try !fill(deadline: deadline) { return true } } catch { return false }
        }
    }

    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with a reset (SO_LINGER 0) instead of a FIN: an abrupt drop.
    public func reset() {
        guard !isClosed else { return }
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    public func close() {
        if !isClosed { Glibc.close(fd); isClosed = true }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
