// IntakeNet: one epoll event loop on one thread.
//
// Design
// - The loop thread owns everything registered with it: connections, their codecs and write
//   buffers, timers. Nothing else touches them; `assertOnLoop()` checks it in debug builds.
// - Other threads hand work in through `execute(_:)`: a locked inbox plus an eventfd that is
//   written only when no wake-up is already pending (one syscall per burst, not per task).
// - Timers live in a binary heap; one timerfd is armed at the earliest deadline.
// - Sockets are level-triggered. A readable connection is read once per wake-up (up to the
//   shared 64 KiB read buffer), so one busy peer cannot starve the others; writes made while
//   handling a read are coalesced and flushed once after it.
// - It does not guarantee fairness between loops: the acceptor spreads connections round-robin.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux
import Foundation
import Synchronization

/// A task handed to a loop from another thread.
public typealias LoopTask = @Sendable () -> Void

/// An identifier for a scheduled timer, to cancel it.
public struct TimerID: Hashable, Sendable { let raw: UInt64 }

/// One epoll loop thread. Create loops through `EventLoopGroup`.
public final class EventLoop: @unchecked Sendable {
    /// Index of this loop in its group (0-based), for logs and metrics.
    public let index: Int
    let epfd: Int32
    let wakeFD: Int32
    let timerFD: Int32

    // Cross-thread inbox (the only state touched by other threads).
    private let inbox = Mutex<[LoopTask]>([])
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)

    // Loop-thread state.
    private var thread: pthread_t?
    /// Connections indexed by file descriptor (fds are small, dense integers).
    var connections: [Connection?] = []
    var connectionCount = 0
    var listeners: [Int32: Listener] = [:]
    private var timers = TimerHeap()
    private var armedDeadline: UInt64 = 0
    private var nextConnectionID: UInt64 = 1
    /// Connections with bytes to flush after the current batch of events.
    var pendingFlush: [Connection] = []
    /// TLS connections with bytes OpenSSL has read ahead, which no epoll event will announce
    /// (Connection+TLS.swift): read again after the current batch; epoll_wait does not block
    /// meanwhile.
    var pendingReads: [Connection] = []
    /// The shared read buffer: one per loop, so idle connections hold none.
    let readBuffer: UnsafeMutableRawBufferPointer
    static let readBufferBytes = 64 * 1024
    private var sweepTimer: TimerID?
    var shuttingDown = false
    private var shutdownDeadline: UInt64 = 0
    let limits: ConnectionLimits
    /// The group this loop belongs to (set once, before the thread starts).
    unowned(unsafe) var group: EventLoopGroup!
    private let done = DispatchSemaphore(value: 0)

    init(index: Int, limits: ConnectionLimits) throws(IOError) {
        self.index = index
        self.limits = limits
        epfd = cil_epoll_create()
        guard epfd >= 0 else { throw IOError("epoll_create1", errno: errno) }
        wakeFD = cil_eventfd()
        guard wakeFD >= 0 else { throw IOError("eventfd", errno: errno) }
        timerFD = cil_timerfd_create()
        guard timerFD >= 0 else { throw IOError("timerfd_create", errno: errno) }
        readBuffer = .allocate(byteCount: Self.readBufferBytes, alignment: 16)
        _ = cil_epoll_ctl(epfd, 0, wakeFD, CIL_EPOLLIN, Self.token(fd: wakeFD, generation: 0))
        _ = cil_epoll_ctl(epfd, 0, timerFD, CIL_EPOLLIN, Self.token(fd: timerFD, generation: 0))
    }

    deinit {
        readBuffer.deallocate()
        close(epfd); close(wakeFD); close(timerFD)
    }

    // MARK: - Threading

    /// True when called on this loop's thread.
    public var inLoop: Bool {
        guard let t = thread else { return false }
        return pthread_equal(pthread_self(), t) != 0
    }

    /// Crashes in debug builds when not called on this loop's thread.
    @inline(__always)
    public func assertOnLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inLoop, "BUG: loop-owned state touched from another thread", file: file, line: line)
    }

    /// Runs `task` on the loop thread, soon. Safe from any thread.
    public func execute(_ task: @escaping LoopTask) {
        inbox.withLock { $0.append(task) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            _ = cil_eventfd_signal(wakeFD)
        }
    }

    func start() {
        let t = Thread { [self] in self.run() }
        t.name = "intake-loop-\(index)"
        t.stackSize = 1 << 20
        t.start()
    }

    /// Blocks until the loop thread has exited.
    func waitUntilStopped() { done.wait() }

    // MARK: - Timers

    /// Runs `task` on the loop after `delayNanos`. Loop thread only.
    @discardableResult
    public func schedule(afterNanos delayNanos: UInt64, _ task: @escaping () -> Void) -> TimerID {
        assertOnLoop()
        let id = timers.insert(deadline: cil_monotonic_nanos() &+ delayNanos, task: task)
        rearmTimer()
        return TimerID(raw: id)
    }

    /// Cancels a timer that has not run yet. Loop thread only.
    public func cancel(_ id: TimerID) {
        assertOnLoop()
        timers.cancel(id.raw)
    }

    private func rearmTimer() {
        let next = timers.earliestDeadline ?? 0
        if next != armedDeadline {
            armedDeadline = next
            _ = cil_timerfd_arm_abs(timerFD, next)
        }
    }

    private func runDueTimers() {
        let now = cil_monotonic_nanos()
        while let task = timers.popDue(now: now) { task() }
        armedDeadline = 0
        rearmTimer()
    }

    // MARK: - Registration

    static func token(fd: Int32, generation: UInt32) -> UInt64 { UInt64(UInt32(bitPattern: fd)) | UInt64(generation) << 32 }

    /// Registers an accepted socket that `group.admission` admitted for `peer`.
    func adopt(fd: Int32, peer: PeerKey, kind: ConnectionKind, tls: TLSServer? = nil, makeHandler: @Sendable (Connection) -> ConnectionHandler) {
        assertOnLoop()
        if shuttingDown { close(fd); group.releaseConnection(peer); return }
        _ = cil_set_int_option(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        var session: TLSSession?
        if let tls {
            // The context current now: after a certificate reload, new connections get the new one.
            session = TLSSession(context: tls.context, fd: fd, handshakeTimeoutNanos: tls.handshakeTimeoutNanos)
            if session == nil { close(fd); group.releaseConnection(peer); return }
        }
        let id = nextConnectionID
        nextConnectionID &+= 1
        let c = Connection(fd: fd, id: id, loop: self, kind: kind, peer: peer)
        c.tls = session
        let idx = Int(fd)
        if idx >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(idx + 1 - connections.count, connections.count)))
        }
        connections[idx] = c
        connectionCount += 1
        c.handler = makeHandler(c)
        guard cil_epoll_ctl(epfd, 0, fd, c.interest, Self.token(fd: fd, generation: c.generation)) == 0 else {
            c.abort(reason: .error(IOError("epoll_ctl add", errno: errno)))
            return
        }
        c.handler?.connectionDidOpen(c)
    }

    func updateInterest(_ c: Connection) {
        _ = cil_epoll_ctl(epfd, 1, c.fd, c.interest, Self.token(fd: c.fd, generation: c.generation))
    }

    func forget(_ c: Connection) {
        let idx = Int(c.fd)
        if idx < connections.count, connections[idx] === c {
            connections[idx] = nil
            connectionCount -= 1
            group.releaseConnection(c.peer)
        }
    }

    func addListener(_ l: Listener) {
        assertOnLoop()
        listeners[l.socket.fd] = l
        _ = cil_epoll_ctl(epfd, 0, l.socket.fd, CIL_EPOLLIN, Self.token(fd: l.socket.fd, generation: 0))
    }

    func markNeedsRead(_ c: Connection) { pendingReads.append(c) }

    private func readPending() {
        let list = pendingReads
        pendingReads.removeAll(keepingCapacity: true)
        for c in list { c.readAgain() }
    }

    func markNeedsFlush(_ c: Connection) {
        if !c.flushQueued {
            c.flushQueued = true
            pendingFlush.append(c)
        }
    }

    private func flushPending() {
        var i = 0
        while i < pendingFlush.count {  // a flush can queue more (closing handlers write)
            let c = pendingFlush[i]
            c.flushQueued = false
            c.flush()
            i += 1
        }
        pendingFlush.removeAll(keepingCapacity: true)
    }

    // MARK: - Shutdown

    /// Stops accepting, asks every connection to finish, and exits once all are closed or
    /// `graceNanos` has passed. Safe from any thread.
    func requestShutdown(graceNanos: UInt64) {
        execute { [self] in
            guard !shuttingDown else { return }
            shuttingDown = true
            shutdownDeadline = cil_monotonic_nanos() &+ graceNanos
            for (fd, _) in listeners {
                _ = cil_epoll_ctl(epfd, 2, fd, 0, 0)
                close(fd)
            }
            listeners.removeAll()
            for case let c? in connections { c.handler?.connectionShouldClose(c) }
            schedule(afterNanos: 50_000_000) { [self] in shutdownPoll() }
        }
    }

    private func shutdownPoll() {
        let now = cil_monotonic_nanos()
        for case let c? in connections { c.tick(now: now) }  // ends lingers that are over, promptly
        if connectionCount == 0 || now >= shutdownDeadline {
            for case let c? in connections { c.abort(reason: .shutdown) }
            stopRequested.store(true, ordering: .relaxed)
        } else {
            schedule(afterNanos: 50_000_000) { [self] in shutdownPoll() }
        }
    }

    // MARK: - The loop

    private func run() {
        thread = pthread_self()
        sweepTimer = schedule(afterNanos: limits.sweepIntervalNanos) { [self] in sweep() }
        let events = UnsafeMutablePointer<cil_event>.allocate(capacity: 256)
        defer { events.deallocate() }
        while !stopRequested.load(ordering: .relaxed) {
            let n = cil_epoll_wait(epfd, events, 256, pendingReads.isEmpty ? -1 : 0)
            if n < 0 {
                if errno == EINTR { continue }
                fatalError("BUG: epoll_wait failed: \(IOError("epoll_wait", errno: errno))")
            }
            for i in 0..<Int(n) {
                let ev = events[i]
                let fd = Int32(truncatingIfNeeded: ev.data & 0xFFFF_FFFF)
                let gen = UInt32(truncatingIfNeeded: ev.data >> 32)
                if Int(fd) < connections.count, let c = connections[Int(fd)] {
                    if c.generation == gen { c.handleEvents(ev.events) }  // else: stale event for a reused fd
                } else if fd == wakeFD {
                    _ = cil_eventfd_drain(wakeFD)
                    wakePending.store(false, ordering: .releasing)
                    let tasks = inbox.withLock { q -> [LoopTask] in
                        let t = q
                        q.removeAll(keepingCapacity: true)
                        return t
                    }
                    for t in tasks { t() }
                } else if fd == timerFD {
                    _ = cil_timerfd_drain(timerFD)
                    runDueTimers()
                } else if let l = listeners[fd] {
                    l.acceptReady()
                }
            }
            if !pendingReads.isEmpty { readPending() }
            flushPending()
        }
        // Close what is left (shutdown deadline passed) and leave.
        for case let c? in connections { c.abort(reason: .shutdown) }
        done.signal()
    }

    /// Once per sweep interval: idle and slow-consumer checks, handler ticks.
    private func sweep() {
        let now = cil_monotonic_nanos()
        for case let c? in connections { c.tick(now: now) }
        sweepTimer = schedule(afterNanos: limits.sweepIntervalNanos) { [self] in sweep() }
    }
}

/// A min-heap of timers by deadline, with lazy cancellation.
struct TimerHeap {
    private var heap: [(deadline: UInt64, id: UInt64)] = []
    private var tasks: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    mutating func insert(deadline: UInt64, task: @escaping () -> Void) -> UInt64 {
        let id = nextID
        nextID += 1
        tasks[id] = task
        heap.append((deadline, id))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            heap.swapAt(p, i)
            i = p
        }
        return id
    }

    mutating func cancel(_ id: UInt64) { tasks[id] = nil }

    var earliestDeadline: UInt64? {
        mutating get {
            while let top = heap.first, tasks[top.id] == nil { removeTop() }
            return heap.first?.deadline
        }
    }

    mutating func popDue(now: UInt64) -> (() -> Void)? {
        while let top = heap.first {
            guard let task = tasks[top.id] else { removeTop(); continue }
            guard top.deadline <= now else { return nil }
            removeTop()
            tasks[top.id] = nil
            return task
        }
        return nil
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }
}
