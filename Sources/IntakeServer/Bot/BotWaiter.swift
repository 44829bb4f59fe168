// IntakeServer/Bot: the handshake between a WeChat callback waiting for a passive reply and the
// core thread's bot decision (docs/PROTOCOL.md, "WeChat"). The HTTP side registers a waiter
// before it ingests; the core either claims it (the answer will be the passive reply, sent once
// its `replied` record is durable) or declines it (hand-over, not a bot session). A claim after
// the deadline fails, and the core then delivers the answer like any other reply. Any thread:
// all state is behind one lock; callbacks run outside it.
import Dispatch
import Synchronization

/// One WeChat message waiting up to its account's `replyDeadline` for the bot's answer.
final class BotWaiter: Sendable {
    private enum Phase {
        case waiting
        /// The core took it: the text follows once durable.
        case claimed
        /// Finished: the text (nil: answer `success`).
        case done(String?)
    }

    private struct State {
        var phase = Phase.waiting
        var callback: (@Sendable (String?) -> Void)?
        var fired = false
    }

    private let state = Mutex(State())

    /// Starts the deadline: unclaimed at `deadlineSeconds` → no passive reply; claimed but not
    /// durable one second later (a failing store) → no passive reply either.
    init(deadlineSeconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + deadlineSeconds) { [self] in
            let claimed = state.withLock { s -> Bool in
                if case .claimed = s.phase { return true }
                if case .waiting = s.phase { s.phase = .done(nil) }
                return false
            }
            if claimed {
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [self] in finish(nil, onlyIfClaimed: true) }
            } else {
                fire()
            }
        }
    }

    /// The core: the answer will be the passive reply. False when the deadline passed.
    func claim() -> Bool {
        state.withLock { s in
            guard case .waiting = s.phase else { return false }
            s.phase = .claimed
            return true
        }
    }

    /// The core: no passive reply (hand-over, not a bot session, a repeat).
    func decline() { finish(nil, onlyIfClaimed: false) }

    /// The core, once the claimed answer is durable: reply with `text`.
    func fulfil(_ text: String) { finish(text, onlyIfClaimed: true) }

    /// The HTTP side, once the message is durable: `then` runs once with the text or nil.
    func whenDone(_ then: @escaping @Sendable (String?) -> Void) {
        state.withLock { $0.callback = then }
        fire()
    }

    private func finish(_ text: String?, onlyIfClaimed: Bool) {
        let changed = state.withLock { s -> Bool in
            switch s.phase {
            case .claimed: s.phase = .done(text); return true
            case .waiting where !onlyIfClaimed: s.phase = .done(text); return true
            default: return false
            }
        }
        if changed { fire() }
    }

    /// Calls the callback once, when both it and the outcome are there.
    private func fire() {
        let call = state.withLock { s -> ((@Sendable (String?) -> Void), String?)? in
            guard !s.fired, let cb = s.callback, case .done(let text) = s.phase else { return nil }
            s.fired = true
            return (cb, text)
        }
        if let (cb, text) = call { cb(text) }
    }
}

/// A core Outbox entry that hands a durable passive answer to its waiter.
struct PassiveReplySink: FrameSink {
    let waiter: BotWaiter
    let text: String
    func send(_ ignored: String) { waiter.fulfil(text) }
}
