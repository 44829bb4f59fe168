// IntakeServer/Outbound: the delivery thread of one channel (app webhooks; the WeChat
// customer-service API): replies waiting in the durable outbox (`BrokerState.outbound`) are sent
// one at a time with a blocking client, retried on the `RetrySchedule` until delivered, refused
// for good, or expired; the end of each is reported to the core, which writes `outboundDone`.
// State guarded by `lock`; the HTTP exchange runs on the dispatcher's own thread, never on a
// loop or the core thread. docs/PROTOCOL.md "App webhooks", docs/STORAGE.md "Outbox".
//
// Design
// - Durable first: the core writes `outboundQueued` in the same batch as the `replied` record and
//   stages the item here; it becomes due only when that batch is durable (the CitizenLinks seam
//   calls `deliver` then). After a restart every pending item is resumed, due at once.
// - At least once: an item delivered but whose `outboundDone` was not yet durable at a crash is
//   sent again after the restart, with the same delivery id (the reply id): receivers dedupe on it.
// - One item at a time per channel: a slow receiver delays the others by at most the timeout.
import Foundation
import AppChannel
import IntakeCore
import IntakeStore
import IntakeTelemetry

/// One attempt's outcome, as a sender classifies it.
enum OutboundAttempt: Sendable, Equatable {
    case delivered
    /// Try again later (no answer, 5xx, 408, 429, a refreshed token …).
    case retry(String)
    /// Refused for good.
    case rejected(String)
    /// WeChat: outside the 48-hour window.
    case outsideWindow
}

/// Sends one outbound item of one channel account. Blocking; the dispatcher's thread only.
protocol OutboundSender: Sendable {
    func send(_ item: OutboundQueued, attempt: Int) -> OutboundAttempt
}

/// The delivery thread of one channel. Registered in the core's `CitizenLinks` for each account
/// it has a sender for.
final class OutboundDispatcher: CitizenLink, @unchecked Sendable {
    let channel: Channel
    let senders: [String: any OutboundSender]
    let retry: RetrySchedule
    let clock: @Sendable () -> EpochMillis
    /// Where finished deliveries go (the core's inbox).
    let finished: @Sendable (OutboundDone) -> Void

    // Guarded by `lock`.
    private let lock = ConditionLock()
    private var staged: [String: OutboundQueued] = [:]
    /// Due items, in no particular order (tens at most in practice; a scan is cheaper than a heap here).
    private var due: [(at: EpochMillis, attempt: Int, item: OutboundQueued)] = []
    private var inFlight = 0
    private var stopping = false
    private let exited = DispatchSemaphore(value: 0)
    private var started = false

    private let pendingGauge: Gauge
    private let counters: [String: Counter]

    init(channel: Channel, senders: [String: any OutboundSender], retry: RetrySchedule = RetrySchedule(),
         clock: @escaping @Sendable () -> EpochMillis, finished: @escaping @Sendable (OutboundDone) -> Void) {
        self.channel = channel
        self.senders = senders
        self.retry = retry
        self.clock = clock
        self.finished = finished
        pendingGauge = MetricsRegistry.shared.gauge("intake_outbound_pending", help: "Replies waiting to leave through a channel's API.",
                                                    labels: ["channel": channel.rawValue])
        var c: [String: Counter] = [:]
        for result in ["delivered", "retry", "rejected", "expired", "outside_48h"] {
            c[result] = MetricsRegistry.shared.counter("intake_outbound_deliveries_total",
                                                       help: "Outbound delivery attempts and ends, by result.",
                                                       labels: ["channel": channel.rawValue, "result": result])
        }
        counters = c
        pendingGauge.set(0)
    }

    /// Whether this dispatcher reaches `account`.
    func handles(account: String) -> Bool { senders[account] != nil }

    // MARK: any thread

    /// Core thread: an item whose `outboundQueued` record is in the pass being written.
    func stage(_ item: OutboundQueued) {
        lock.lock()
        staged[item.id] = item
        lock.unlock()
    }

    /// The CitizenLinks seam, called once the pass is durable: a staged reply becomes due.
    /// Other events (queue positions, assignment, close) do not leave through channel APIs.
    func deliver(_ event: CitizenEvent, to citizen: CitizenAddress) {
        guard case let .message(_, _, _, id) = event else { return }
        lock.lock()
        if let item = staged.removeValue(forKey: id) { schedule(item, at: clock(), attempt: 1) }
        lock.unlock()
    }

    /// Start-up: the items of the durable outbox, due at once.
    func resume(_ items: [OutboundQueued]) {
        lock.lock()
        let now = clock()
        for item in items.sorted(by: { $0.id < $1.id }) { schedule(item, at: now, attempt: 1) }
        lock.unlock()
    }

    /// Must hold `lock`.
    private func schedule(_ item: OutboundQueued, at: EpochMillis, attempt: Int) {
        due.append((at, attempt, item))
        pendingGauge.set(Double(due.count + inFlight))
        lock.signal()
    }

    func start() {
        lock.lock()
        started = true
        lock.unlock()
        let t = Thread { [self] in run() }
        t.name = "intake-outbound-\(channel.rawValue)"
        t.start()
    }

    /// Stops the thread after the attempt in flight (bounded by the sender's timeout). Idempotent.
    func stop() {
        lock.lock()
        let wait = started && !stopping
        stopping = true
        lock.signal()
        lock.unlock()
        if wait { exited.wait() }
    }

    // MARK: the dispatcher's thread

    private func run() {
        while true {
            lock.lock()
            var next: Int?
            while !stopping {
                let now = clock()
                var earliest: EpochMillis?
                for (i, d) in due.enumerated() where earliest == nil || d.at < earliest! {
                    earliest = d.at
                    next = i
                }
                if let earliest, earliest <= now { break }
                next = nil
                let waitMillis = min(1_000, max(1, (earliest ?? now + 1_000) - now))
                lock.wait(untilMonotonicNanos: ConditionLock.now() + UInt64(waitMillis) * 1_000_000)
            }
            if stopping {
                lock.unlock()
                break
            }
            let d = due.remove(at: next!)
            inFlight += 1
            lock.unlock()

            let result = attempt(d.item, d.attempt)

            lock.lock()
            inFlight -= 1
            if let retryAt = result { schedule(d.item, at: retryAt, attempt: d.attempt + 1) }
            pendingGauge.set(Double(due.count + inFlight))
            lock.unlock()
        }
        exited.signal()
    }

    /// One attempt; returns when to retry, or nil when the item is finished (and reported).
    private func attempt(_ item: OutboundQueued, _ n: Int) -> EpochMillis? {
        let now = clock()
        func finish(_ result: OutboundDone.Result, _ why: String) -> EpochMillis? {
            counters[result.rawValue]?.increment()
            if result != .delivered {
                Log.warning("outbound: reply not delivered", ["channel": .string(channel.rawValue), "account": .string(item.account),
                                                              "id": .string(item.id), "result": .string(result.rawValue),
                                                              "attempts": .int(n), "why": .string(why)])
            }
            finished(OutboundDone(id: item.id, result: result, attempts: n, at: clock()))
            return nil
        }
        if now - item.at > retry.expiryMillis { return finish(.expired, "older than the expiry") }
        guard let sender = senders[item.account] else { return finish(.rejected, "no sender for account \(item.account)") }
        switch sender.send(item, attempt: n) {
        case .delivered: return finish(.delivered, "")
        case .rejected(let why): return finish(.rejected, why)
        case .outsideWindow: return finish(.outsideWindow, "the citizen's last message is older than 48 hours")
        case .retry(let why):
            counters["retry"]?.increment()
            guard let next = retry.nextAttempt(after: n, failedAt: clock(), sentAt: item.at) else {
                return finish(.expired, why)
            }
            Log.info("outbound: delivery failed; retrying", ["channel": .string(channel.rawValue), "id": .string(item.id),
                                                             "attempt": .int(n), "why": .string(why),
                                                             "retryInMs": .int(Int(next - clock()))])
            return next
        }
    }
}
