// The epoll loops over real loopback sockets: echo, cross-thread tasks, timers, backpressure,
// slow-consumer cut-off, connection limits and graceful shutdown.
import Testing
import Synchronization
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import IntakeNet
import IntakeTestSupport

/// Echoes every byte back; counts closes.
final class EchoHandler: ConnectionHandler {
    let reasons: Reasons?
    init(reasons: Reasons? = nil) { self.reasons = reasons }
    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) { c.write(bytes) }
    func connectionDidClose(_ c: Connection, reason: CloseReason) { reasons?.add(reason) }
}

/// Answers every byte read with `factor` times as many bytes (to overrun a peer that does not read).
final class FloodHandler: ConnectionHandler {
    let reasons: Reasons
    init(_ r: Reasons) { reasons = r }
    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) {
        c.write([UInt8](repeating: 0x61, count: bytes.count * 1024))
    }
    func connectionDidClose(_ c: Connection, reason: CloseReason) { reasons.add(reason) }
}

final class Reasons: Sendable {
    let list = Mutex<[CloseReason]>([])
    func add(_ r: CloseReason) { list.withLock { $0.append(r) } }
    var all: [CloseReason] { list.withLock { $0 } }
}

func waitUntil(timeout: Double = 5, _ cond: () -> Bool) -> Bool {
    var waited = 0.0
    while waited < timeout {
        if cond() { return true }
        usleep(10_000)
        waited += 0.01
    }
    return cond()
}

@Suite(.timeLimit(.minutes(5)))
struct EventLoopTests {
    @Test func echoOverLoopbackOnTwoLoops() throws {
        let group = try EventLoopGroup(count: 2)
        defer { group.shutdown(graceSeconds: 1) }
        let ep = try group.listen(Endpoint(parsing: "127.0.0.1:0")!, kind: .tcp) { _ in EchoHandler() }
        #expect(ep.port > 0)
        var sockets: [TestSocket] = []
        for i in 0..<10 {
            let s = try TestSocket(port: ep.port)
            try s.send("hello \(i)\n")
            #expect(try s.receiveLine() == "hello \(i)")
            sockets.append(s)
        }
        #expect(waitUntil { group.connectionCount == 10 })
        // Both loops got connections (round-robin).
        let perLoop = group.loops.map { l in
            let sem = DispatchSemaphore(value: 0)
            let n = Atomic<Int>(0)
            l.execute { n.store(l.connectionCount, ordering: .relaxed); sem.signal() }
            sem.wait()
            return n.load(ordering: .relaxed)
        }
        #expect(perLoop == [5, 5])
        let big = [UInt8]((0..<200_000).map { UInt8($0 % 251) })
        try sockets[3].send(big)
        #expect(try sockets[3].receive(exactly: big.count) == big)
        for s in sockets { s.close() }
        #expect(waitUntil { group.connectionCount == 0 })
    }

    @Test func executeFromOtherThreadsAndTimers() throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown(graceSeconds: 1) }
        let loop = group.loops[0]
        let counter = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 { loop.execute { counter.add(1, ordering: .relaxed) } }
        }
        #expect(waitUntil { counter.load(ordering: .relaxed) == 8000 })
        let fired = Mutex<[Int]>([])
        loop.execute {
            loop.schedule(afterNanos: 30_000_000) { fired.withLock { $0.append(3) } }
            loop.schedule(afterNanos: 10_000_000) { fired.withLock { $0.append(1) } }
            let id = loop.schedule(afterNanos: 20_000_000) { fired.withLock { $0.append(2) } }
            loop.cancel(id)
        }
        #expect(waitUntil { fired.withLock { $0.count } == 2 })
        usleep(50_000)
        #expect(fired.withLock { $0 } == [1, 3])
    }

    @Test func peerThatStopsReadingIsCutOffWithoutStallingOthers() throws {
        var limits = ConnectionLimits()
        limits.highWaterBytes = 64 * 1024
        limits.maxOutboundBytes = 1 << 30
        limits.slowConsumerGraceNanos = 300_000_000
        limits.sweepIntervalNanos = 100_000_000
        let group = try EventLoopGroup(count: 1, limits: limits)
        defer { group.shutdown(graceSeconds: 1) }
        let reasons = Reasons()
        let flood = try group.listen(Endpoint(parsing: "127.0.0.1:0")!, kind: .tcp) { _ in FloodHandler(reasons) }
        let echo = try group.listen(Endpoint(parsing: "127.0.0.1:0")!, kind: .tcp) { _ in EchoHandler() }
        let slow = try TestSocket(port: flood.port)
        // Each byte asks for 1 KiB back; we never read, so the broker's buffer fills.
        for _ in 0..<64 { try slow.send([UInt8](repeating: 1, count: 1024)) }
        // Meanwhile another client on the same loop is served normally.
        let fast = try TestSocket(port: echo.port)
        for i in 0..<20 {
            try fast.send("ping \(i)\n")
            #expect(try fast.receiveLine(timeout: 2) == "ping \(i)")
        }
        #expect(waitUntil(timeout: 5) { reasons.all.contains(.slowConsumer) })
        #expect(slowConsumerCounter.current >= 1)
    }

    @Test func connectionLimitRejectsTheExtraConnection() throws {
        var limits = ConnectionLimits()
        limits.maxConnections = 3
        let group = try EventLoopGroup(count: 2, limits: limits)
        defer { group.shutdown(graceSeconds: 1) }
        let ep = try group.listen(Endpoint(parsing: "127.0.0.1:0")!, kind: .tcp) { _ in EchoHandler() }
        let kept = try (0..<3).map { _ in try TestSocket(port: ep.port) }
        for s in kept { try s.send("x\n"); #expect(try s.receiveLine() == "x") }
        let extra = try TestSocket(port: ep.port)
        #expect(extra.waitForClose(timeout: 2))
        kept[0].close()
        #expect(waitUntil { group.connectionCount == 2 })
        let again = try TestSocket(port: ep.port)
        try again.send("y\n")
        #expect(try again.receiveLine() == "y")
    }

    @Test func shutdownClosesConnectionsAndStopsAccepting() throws {
        let group = try EventLoopGroup(count: 2)
        let reasons = Reasons()
        let ep = try group.listen(Endpoint(parsing: "127.0.0.1:0")!, kind: .tcp) { _ in EchoHandler(reasons: reasons) }
        let s = try TestSocket(port: ep.port)
        try s.send("a\n")
        #expect(try s.receiveLine() == "a")
        group.shutdown(graceSeconds: 2)
        #expect(s.waitForClose(timeout: 3))
        #expect(reasons.all == [.shutdown] || reasons.all == [.local])
        #expect(throws: (any Error).self) { _ = try TestSocket(port: ep.port) }
    }

    @Test func endpointParsing() {
        #expect(Endpoint(parsing: "127.0.0.1:8080") == Endpoint(host: "127.0.0.1", port: 8080))
        #expect(Endpoint(parsing: "[::1]:0") == Endpoint(host: "::1", port: 0))
        #expect(Endpoint(parsing: "localhost:7070") == Endpoint(host: "127.0.0.1", port: 7070))
        for bad in ["", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+5", "::1:80", "host:80", "1.2.3:80"] {
            #expect(Endpoint(parsing: bad) == nil, "\(bad)")
        }
    }
}
