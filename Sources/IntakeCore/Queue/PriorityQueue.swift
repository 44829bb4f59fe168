// IntakeCore/Queue: one named queue's waiting items (citizens waiting for an agent), in the
// order they are to be served. A value type owned by the core thread, its only writer; a copy
// is an independent snapshot (copy-on-write) that an admin view may read anywhere.
//
// Design: one indexed binary min-heap per priority class keyed by (enqueuedAt, sequence), a
// dictionary id → handle, and per-handle arrays (id, class, heap slot) kept exact by every
// sift. `pop` compares the ten class heads; nothing is ever sorted on the hot path.

/// The waiting items of one named queue, served in a fixed, documented order.
///
/// **Service order at time `now`.** Let `L` be `starvationLimitMillis`. An item is *overdue*
/// when it has waited strictly longer than `L`: `now - enqueuedAt > L`. Then:
/// 1. every overdue item comes before every item that is not, and overdue items are ordered
///    oldest `enqueuedAt` first, then lowest `sequence` (their class does not matter);
/// 2. the remaining items are ordered highest priority class first (9 before 0), then oldest
///    `enqueuedAt`, then lowest `sequence`.
/// With `L == nil` nothing is ever overdue and rule 2 alone applies. The `sequence` is this
/// queue's insertion counter, so the order is total.
///
/// **Anti-starvation guarantee.** Once an item `x` is overdue, `pop(now:)` returns `x` or an
/// item with a strictly smaller `(enqueuedAt, sequence)`, never a younger one of any class. So
/// after `x` becomes overdue it is served within `k + 1` pops, where `k` is the number of
/// queued items older than `x` at that moment plus any pushed later with an older
/// `enqueuedAt` (items sent back with their original time). This bounds the *number of items*
/// served ahead of `x`, not wall-clock time, which depends on how fast agents pop. Filtered
/// pops (`pop(now:scanLimit:where:)`) keep the same order but skip items the predicate
/// rejects, and look only at the first `scanLimit` items.
///
/// **Re-queueing.** `enqueuedAt` is the item's original wait start: push an item sent back to
/// the queue with its original time and it goes ahead of every item of its class that started
/// waiting later (behind those of the same millisecond, which have lower sequences).
///
/// **Costs** (`n` = items in the queue): `push`, `pop`, `peek`, `remove`, `reprioritise`
/// O(log n); `count`, `contains` O(1); `oldestEnqueuedAt` O(10); `position(of:now:)`
/// O(rank); `ordered(now:)` O(n log n). About 70–90 bytes per item (see the report in the
/// commit that added this type for measured figures).
public struct PriorityQueue<ID: Hashable & Sendable>: Sendable {
    /// One waiting item as seen from outside the queue.
    public struct Entry: Hashable, Sendable {
        /// The item's identity (a session or conversation id).
        public var id: ID
        /// Priority class, 0...9, 9 served first.
        public var priority: Int
        /// The original wait start; kept across re-queueing and reprioritising.
        public var enqueuedAt: EpochMillis
        /// This queue's insertion counter at push time; orders items with equal `enqueuedAt`.
        public var sequence: UInt64

        /// An entry; normally produced by the queue rather than by callers.
        public init(id: ID, priority: Int, enqueuedAt: EpochMillis, sequence: UInt64) {
            self.id = id
            self.priority = priority
            self.enqueuedAt = enqueuedAt
            self.sequence = sequence
        }
    }

    /// The valid priority classes; 9 is served first.
    public static var priorities: ClosedRange<Int> { 0...9 }

    /// A scan bound for filtered pops when the caller has no better figure.
    public static var defaultScanLimit: Int { 64 }

    /// Items waiting strictly longer than this are served first (see the type's documentation);
    /// `nil` turns anti-starvation off. Must be `>= 0`. Changing it never reorders storage.
    public var starvationLimitMillis: EpochMillis? {
        didSet { Self.checkLimit(starvationLimitMillis) }
    }

    /// One heap per priority class, index = class.
    package var heaps: [[QueueNode]]
    /// id → handle (index into the per-handle arrays below).
    package var handleOf: [ID: Int32] = [:]
    /// handle → id; `nil` for a free handle.
    package var idOf: [ID?] = []
    /// handle → slot in its class heap.
    package var slotOf: [Int32] = []
    /// handle → priority class.
    package var classOf: [UInt8] = []
    /// Handles released by pop/remove, reused before new ones are made.
    package var freeHandles: [Int32] = []
    /// The sequence the next push will get.
    package var nextSequence: UInt64 = 0

    /// An empty queue. `starvationLimitMillis`: see the property; `nil` = off.
    public init(starvationLimitMillis: EpochMillis? = nil) {
        Self.checkLimit(starvationLimitMillis)
        self.starvationLimitMillis = starvationLimitMillis
        heaps = Array(repeating: [], count: Self.priorities.count)
    }

    /// Reserves room for `count` items in the index (saves rehashing when restoring a snapshot).
    public mutating func reserveCapacity(_ count: Int) {
        handleOf.reserveCapacity(count)
        idOf.reserveCapacity(count)
        slotOf.reserveCapacity(count)
        classOf.reserveCapacity(count)
    }

    // MARK: reading

    /// The number of waiting items. O(1).
    public var count: Int { handleOf.count }

    /// Whether no item is waiting. O(1).
    public var isEmpty: Bool { handleOf.isEmpty }

    /// The number of waiting items in one priority class. O(1).
    public func count(priority: Int) -> Int {
        Self.checkPriority(priority)
        return heaps[priority].count
    }

    /// Whether `id` is waiting in this queue. O(1).
    public func contains(_ id: ID) -> Bool { handleOf[id] != nil }

    /// The entry for `id`, or `nil` if it is not waiting here. O(1).
    public func entry(for id: ID) -> Entry? {
        guard let h = handleOf[id] else { return nil }
        return entry(Int(classOf[Int(h)]), heaps[Int(classOf[Int(h)])][Int(slotOf[Int(h)])])
    }

    /// The earliest `enqueuedAt` of any waiting item (the longest wait), `nil` when empty.
    /// O(10): the minimum over the class heads.
    public var oldestEnqueuedAt: EpochMillis? {
        var oldest: EpochMillis?
        for heap in heaps {
            if let head = heap.first, head.enqueuedAt < (oldest ?? .max) { oldest = head.enqueuedAt }
        }
        return oldest
    }

    /// Whether `entry` would be overdue (served ahead of all classes) at `now`.
    public func isOverdue(_ entry: Entry, now: EpochMillis) -> Bool {
        ServiceOrder(now: now, limitMillis: starvationLimitMillis).isOverdue(entry.enqueuedAt)
    }

    /// The item `pop(now:)` would return, without removing it. O(10).
    public func peek(now: EpochMillis) -> Entry? {
        guard let c = serviceClass(now: now) else { return nil }
        return entry(c, heaps[c][0])
    }

    // MARK: writing

    /// Adds `id` to the queue. Returns `false` and changes nothing if `id` is already waiting
    /// here (the caller decides whether that is a duplicate delivery or a bug).
    /// `priority` must be in `0...9` (crashes otherwise: validate input before it gets here).
    /// O(log n).
    public mutating func push(_ id: ID, priority: Int, enqueuedAt: EpochMillis) -> Bool {
        Self.checkPriority(priority)
        guard handleOf[id] == nil else { return false }
        let h: Int32
        if let free = freeHandles.popLast() {
            h = free
            idOf[Int(h)] = id
            classOf[Int(h)] = UInt8(priority)
        } else {
            precondition(idOf.count < Int(Int32.max), "BUG: PriorityQueue holds 2^31 items")
            h = Int32(idOf.count)
            idOf.append(id)
            slotOf.append(0)
            classOf.append(UInt8(priority))
        }
        handleOf[id] = h
        let node = QueueNode(enqueuedAt: enqueuedAt, sequence: nextSequence, handle: h)
        nextSequence += 1
        QueueHeap.insert(node, into: &heaps[priority], slots: &slotOf)
        return true
    }

    /// Removes and returns the first item in service order at `now`, `nil` when empty.
    /// O(log n).
    public mutating func pop(now: EpochMillis) -> Entry? {
        guard let c = serviceClass(now: now) else { return nil }
        return take(priority: c, slot: 0)
    }

    /// Removes `id` wherever it is in the queue; returns its entry, or `nil` if it was not
    /// waiting here. O(log n).
    public mutating func remove(_ id: ID) -> Entry? {
        guard let h = handleOf[id] else { return nil }
        return take(priority: Int(classOf[Int(h)]), slot: Int(slotOf[Int(h)]))
    }

    /// Moves `id` to another priority class, keeping its `enqueuedAt` and `sequence` (so it
    /// takes the place in the new class that its wait time earns). Returns `false` if `id` is
    /// not waiting here. `priority` must be in `0...9`. O(log n).
    public mutating func reprioritise(_ id: ID, to priority: Int) -> Bool {
        Self.checkPriority(priority)
        guard let h = handleOf[id] else { return false }
        let old = Int(classOf[Int(h)])
        guard old != priority else { return true }
        let node = QueueHeap.remove(at: Int(slotOf[Int(h)]), from: &heaps[old], slots: &slotOf)
        classOf[Int(h)] = UInt8(priority)
        QueueHeap.insert(node, into: &heaps[priority], slots: &slotOf)
        return true
    }

    // MARK: internals shared with the extensions

    /// The class whose head is served next at `now`, `nil` when empty. Because service order
    /// is monotone along each heap, the first item overall is one of the ten heads.
    func serviceClass(now: EpochMillis) -> Int? {
        let order = ServiceOrder(now: now, limitMillis: starvationLimitMillis)
        var best: Int?
        for c in heaps.indices {
            guard let head = heaps[c].first else { continue }
            if let b = best, !order.precedes(c, head, b, heaps[b][0]) { continue }
            best = c
        }
        return best
    }

    /// Removes the node at `slot` of class `priority`, frees its handle, returns its entry.
    mutating func take(priority: Int, slot: Int) -> Entry {
        let node = QueueHeap.remove(at: slot, from: &heaps[priority], slots: &slotOf)
        let h = Int(node.handle)
        guard let id = idOf[h] else { preconditionFailure("BUG: queued node with a free handle") }
        idOf[h] = nil
        handleOf[id] = nil
        freeHandles.append(node.handle)
        return Entry(id: id, priority: priority, enqueuedAt: node.enqueuedAt, sequence: node.sequence)
    }

    /// The public view of a node that is in the queue.
    func entry(_ priority: Int, _ node: QueueNode) -> Entry {
        guard let id = idOf[Int(node.handle)] else { preconditionFailure("BUG: queued node with a free handle") }
        return Entry(id: id, priority: priority, enqueuedAt: node.enqueuedAt, sequence: node.sequence)
    }

    static func checkPriority(_ priority: Int) {
        precondition(priorities.contains(priority), "BUG: priority \(priority) outside 0...9")
    }

    static func checkLimit(_ limit: EpochMillis?) {
        precondition((limit ?? 0) >= 0, "BUG: negative starvationLimitMillis")
    }
}
