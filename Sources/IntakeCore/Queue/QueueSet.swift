// IntakeCore/Queue: all named queues of the broker, with one id → queue index so an item can
// be removed or reprioritised without knowing where it waits. A value type owned by the core
// thread (its only writer); copies are independent snapshots.

/// Many named `PriorityQueue`s and a global index of which queue each waiting id is in.
///
/// An id waits in at most one queue at a time. Queues are created on first use (or by
/// `addQueue`) and are kept when they empty, so names and depth metrics stay stable.
/// The index maps ids to a queue number, not a name (20 bytes per item for `String` ids
/// instead of 32). Costs are those of `PriorityQueue` plus one hash lookup.
public struct QueueSet<ID: Hashable & Sendable>: Sendable {
    /// The limit given to queues created implicitly by `push`.
    public var defaultStarvationLimitMillis: EpochMillis?

    package var queues: [PriorityQueue<ID>] = []
    package var names: [String] = []
    package var numberOf: [String: Int] = [:]
    /// id → index into `queues`.
    package var queueOf: [ID: Int32] = [:]

    /// No queues yet. Queues created by `push` get `defaultStarvationLimitMillis`.
    public init(defaultStarvationLimitMillis: EpochMillis? = nil) {
        PriorityQueue<ID>.checkLimit(defaultStarvationLimitMillis)
        self.defaultStarvationLimitMillis = defaultStarvationLimitMillis
    }

    /// Creates the queue `name` if it does not exist, and sets its starvation limit either way.
    public mutating func addQueue(_ name: String, starvationLimitMillis: EpochMillis?) {
        queues[number(of: name)].starvationLimitMillis = starvationLimitMillis
    }

    /// The queue names, sorted.
    public var queueNames: [String] { names.sorted() }

    /// A copy of one queue (for `ordered`, `position`, `peek` views), `nil` if it does not
    /// exist. Cheap: copy-on-write, nothing is copied unless the set is mutated meanwhile.
    public subscript(queue name: String) -> PriorityQueue<ID>? {
        numberOf[name].map { queues[$0] }
    }

    /// The number of items waiting in all queues. O(1).
    public var totalCount: Int { queueOf.count }

    /// The number of items waiting in `queue` (0 for an unknown queue). O(1).
    public func depth(queue: String) -> Int {
        numberOf[queue].map { queues[$0].count } ?? 0
    }

    /// The number of items of one priority class waiting in `queue` (0 for an unknown queue).
    public func depth(queue: String, priority: Int) -> Int {
        PriorityQueue<ID>.checkPriority(priority)
        return numberOf[queue].map { queues[$0].count(priority: priority) } ?? 0
    }

    /// Whether `id` waits in any queue. O(1).
    public func contains(_ id: ID) -> Bool { queueOf[id] != nil }

    /// The queue `id` waits in, or `nil`. O(1).
    public func queueName(of id: ID) -> String? {
        queueOf[id].map { names[Int($0)] }
    }

    /// The entry and queue of `id`, or `nil` if it waits nowhere. O(1).
    public func entry(for id: ID) -> (queue: String, entry: PriorityQueue<ID>.Entry)? {
        guard let q = queueOf[id].map(Int.init), let e = queues[q].entry(for: id) else { return nil }
        return (names[q], e)
    }

    /// The 1-based rank of `id` within its queue at `now` (see `PriorityQueue.position`).
    public func position(of id: ID, now: EpochMillis) -> Int? {
        guard let q = queueOf[id] else { return nil }
        return queues[Int(q)].position(of: id, now: now)
    }

    /// Adds `id` to `queue` (created if needed). Returns `false` and changes nothing if `id`
    /// already waits in any queue. `priority` in `0...9`. O(log n).
    public mutating func push(_ id: ID, queue: String, priority: Int, enqueuedAt: EpochMillis) -> Bool {
        guard queueOf[id] == nil else { return false }
        let q = number(of: queue)
        let pushed = queues[q].push(id, priority: priority, enqueuedAt: enqueuedAt)
        precondition(pushed, "BUG: id missing from the QueueSet index but present in queue \(queue)")
        queueOf[id] = Int32(q)
        return true
    }

    /// The item `pop(queue:now:)` would return. O(10).
    public func peek(queue: String, now: EpochMillis) -> PriorityQueue<ID>.Entry? {
        numberOf[queue].flatMap { queues[$0].peek(now: now) }
    }

    /// Removes and returns the next item of `queue` at `now`; `nil` if empty or unknown.
    public mutating func pop(queue: String, now: EpochMillis) -> PriorityQueue<ID>.Entry? {
        guard let q = numberOf[queue], let e = queues[q].pop(now: now) else { return nil }
        queueOf[e.id] = nil
        return e
    }

    /// Removes and returns the first item of `queue` in service order that `accept` takes,
    /// looking at most at `scanLimit` items (see `PriorityQueue.pop(now:scanLimit:where:)`).
    public mutating func pop(queue: String, now: EpochMillis, scanLimit: Int = PriorityQueue<ID>.defaultScanLimit,
                             where accept: (ID) -> Bool) -> PriorityQueue<ID>.Entry? {
        guard let q = numberOf[queue],
              let e = queues[q].pop(now: now, scanLimit: scanLimit, where: accept) else { return nil }
        queueOf[e.id] = nil
        return e
    }

    /// Removes `id` from whichever queue holds it; returns that queue's name and the entry.
    public mutating func remove(_ id: ID) -> (queue: String, entry: PriorityQueue<ID>.Entry)? {
        guard let q = queueOf.removeValue(forKey: id).map(Int.init) else { return nil }
        guard let e = queues[q].remove(id) else { preconditionFailure("BUG: QueueSet index names a queue without the id") }
        return (names[q], e)
    }

    /// Moves `id` to another priority class in its queue, keeping its wait time. Returns
    /// `false` if `id` waits nowhere.
    public mutating func reprioritise(_ id: ID, to priority: Int) -> Bool {
        guard let q = queueOf[id] else { return false }
        return queues[Int(q)].reprioritise(id, to: priority)
    }

    /// Every broken invariant of the set and its queues; empty when sound. O(total items).
    package func checkInvariants() -> [String] {
        var problems: [String] = []
        var sum = 0
        for (q, queue) in queues.enumerated() {
            sum += queue.count
            problems += queue.checkInvariants().map { "queue \(names[q]): \($0)" }
            if numberOf[names[q]] != q { problems.append("queue \(names[q]) is not indexed as number \(q)") }
        }
        if sum != queueOf.count { problems.append("queues hold \(sum) items, index holds \(queueOf.count)") }
        for (id, q) in queueOf where !queues[Int(q)].contains(id) {
            problems.append("index places \(id) in \(names[Int(q)]), which does not hold it")
            break
        }
        return problems
    }

    private mutating func number(of name: String) -> Int {
        if let q = numberOf[name] { return q }
        precondition(queues.count < Int(Int32.max), "BUG: too many queues")
        queues.append(PriorityQueue(starvationLimitMillis: defaultStarvationLimitMillis))
        names.append(name)
        numberOf[name] = queues.count - 1
        return queues.count - 1
    }
}
