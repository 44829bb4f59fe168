// IntakeServer/Broker: the producers waiting for one appendBatch to become durable. Filled by
// the core thread, completed once by the store's writer thread; a Mutex guards both, so a
// duplicate that arrives while its original is in flight can join the original's batch.
import IntakeStore
import Synchronization

/// The answers held until one batch of records is durable (or has failed).
final class PendingBatch: Sendable {
    typealias Reply = @Sendable (IngestOutcome) -> Void

    private struct State {
        var result: Result<ClosedRange<UInt64>, StoreError>?
        var waiting: [(IngestOutcome, Reply)] = []
        var onDurable: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    /// Sends `outcome` through `reply` once the batch is durable; at once if it already is.
    /// If the batch failed, the reply is a refusal instead.
    func add(_ outcome: IngestOutcome, _ reply: @escaping Reply) {
        let done: Result<ClosedRange<UInt64>, StoreError>? = state.withLock { s in
            if s.result == nil { s.waiting.append((outcome, reply)) }
            return s.result
        }
        guard let done else { return }
        reply(Self.answer(outcome, done))
    }

    /// Runs `action` once the batch is durable (at once if it already is); never if it failed.
    func whenDurable(_ action: @escaping @Sendable () -> Void) {
        let done: Result<ClosedRange<UInt64>, StoreError>? = state.withLock { s in
            if s.result == nil { s.onDurable.append(action) }
            return s.result
        }
        if case .success = done { action() }
    }

    /// True once the store reported on this batch.
    var isDone: Bool { state.withLock { $0.result != nil } }

    /// Runs on the writer thread: answers everyone waiting, in the order they were added.
    func complete(_ result: Result<ClosedRange<UInt64>, StoreError>) {
        let (waiting, actions) = state.withLock { s in
            s.result = result
            defer { s.waiting = []; s.onDurable = [] }
            return (s.waiting, s.onDurable)
        }
        for (outcome, reply) in waiting { reply(Self.answer(outcome, result)) }
        if case .success = result { for action in actions { action() } }
    }

    private static func answer(_ outcome: IngestOutcome, _ result: Result<ClosedRange<UInt64>, StoreError>) -> IngestOutcome {
        switch result {
        case .success: outcome
        case .failure(let e): .failed(.unavailable(BrokerCore.refusal(e)))
        }
    }
}
