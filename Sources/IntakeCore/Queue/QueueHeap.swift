// IntakeCore/Queue: the indexed binary min-heap under each priority class of a PriorityQueue,
// and the one definition of service order that every read of the queue uses.
// Value types with no generics (so the hot code needs no specialisation); owned by the core
// thread through the PriorityQueue that holds them.

/// One waiting item inside a class heap: its sort key and the handle of its record.
///
/// `handle` indexes the queue's per-item arrays (id, class, heap slot). Keeping the key in the
/// node keeps comparisons local to the heap array; stride is 24 bytes.
package struct QueueNode: Sendable, Equatable {
    /// The original wait start; older first within a class.
    package var enqueuedAt: EpochMillis
    /// The queue's insertion counter at push time; breaks ties between equal `enqueuedAt`.
    package var sequence: UInt64
    /// Index into the owning queue's record arrays.
    package var handle: Int32

    /// `true` when `self` sorts before `other` inside one class: older, then lower sequence.
    @inline(__always)
    package func precedes(_ other: QueueNode) -> Bool {
        enqueuedAt < other.enqueuedAt || (enqueuedAt == other.enqueuedAt && sequence < other.sequence)
    }
}

/// The service order of a queue at one instant.
///
/// An item is *overdue* when `enqueuedAt < threshold`, i.e. `now - enqueuedAt > limit`
/// (strictly longer than the limit). Overdue items come first, oldest `(enqueuedAt, sequence)`
/// first, whatever their class; then the rest by class (9 first), then `(enqueuedAt, sequence)`.
///
/// This order is monotone along every class heap: a parent never sorts after its child (a
/// parent is at least as old, so it is overdue whenever the child is, and in the same class).
/// That is what lets `pop` look only at the ten heads and lets the cursor walk the heaps lazily.
package struct ServiceOrder: Sendable {
    /// Items with `enqueuedAt` strictly below this are overdue; `nil` when none can be.
    package let threshold: EpochMillis?

    /// The order at `now` for a queue whose starvation limit is `limitMillis` (`nil` = off).
    package init(now: EpochMillis, limitMillis: EpochMillis?) {
        guard let limit = limitMillis else { threshold = nil; return }
        let (t, overflow) = now.subtractingReportingOverflow(limit)
        // now - limit below Int64.min: nothing can be older than that, so nothing is overdue.
        threshold = overflow ? nil : t
    }

    /// Whether an item that started waiting at `enqueuedAt` is overdue.
    @inline(__always)
    package func isOverdue(_ enqueuedAt: EpochMillis) -> Bool {
        guard let threshold else { return false }
        return enqueuedAt < threshold
    }

    /// `true` when item `a` (in class `aClass`) is served before item `b` (in class `bClass`).
    @inline(__always)
    package func precedes(_ aClass: Int, _ a: QueueNode, _ bClass: Int, _ b: QueueNode) -> Bool {
        let aOver = isOverdue(a.enqueuedAt), bOver = isOverdue(b.enqueuedAt)
        if aOver != bOver { return aOver }
        if !aOver && aClass != bClass { return aClass > bClass }
        // Both overdue (class ignored) or same class: sequences are unique per queue, so this
        // is a total order.
        return a.precedes(b)
    }
}

/// Sift operations on one class heap. Every move of a node writes its new slot to `slots`,
/// so the queue's position index stays exact after each operation.
package enum QueueHeap {
    /// Appends `node` and restores heap order.
    @inline(__always)
    package static func insert(_ node: QueueNode, into heap: inout [QueueNode], slots: inout [Int32]) {
        heap.append(node)
        siftUp(from: heap.count - 1, in: &heap, slots: &slots)
    }

    /// Removes and returns the node at `slot`, restoring heap order.
    package static func remove(at slot: Int, from heap: inout [QueueNode], slots: inout [Int32]) -> QueueNode {
        let removed = heap[slot]
        let last = heap.removeLast()
        if slot < heap.count {
            // The last node fills the hole; it may belong above or below it.
            heap[slot] = last
            if slot > 0 && last.precedes(heap[(slot - 1) / 2]) {
                siftUp(from: slot, in: &heap, slots: &slots)
            } else {
                siftDown(from: slot, in: &heap, slots: &slots)
            }
        }
        return removed
    }

    /// Moves the node at `start` towards the root until its parent precedes it.
    package static func siftUp(from start: Int, in heap: inout [QueueNode], slots: inout [Int32]) {
        let node = heap[start]
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            let p = heap[parent]
            guard node.precedes(p) else { break }
            heap[i] = p
            slots[Int(p.handle)] = Int32(truncatingIfNeeded: i)
            i = parent
        }
        heap[i] = node
        slots[Int(node.handle)] = Int32(truncatingIfNeeded: i)
    }

    /// Moves the node at `start` towards the leaves until it precedes both children.
    package static func siftDown(from start: Int, in heap: inout [QueueNode], slots: inout [Int32]) {
        let node = heap[start]
        let n = heap.count
        var i = start
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && heap[child + 1].precedes(heap[child]) { child += 1 }
            let c = heap[child]
            guard c.precedes(node) else { break }
            heap[i] = c
            slots[Int(c.handle)] = Int32(truncatingIfNeeded: i)
            i = child
        }
        heap[i] = node
        slots[Int(node.handle)] = Int32(truncatingIfNeeded: i)
    }

    /// How many nodes of `heap` satisfy `include`, which must be monotone along the heap (if a
    /// child satisfies it, so does its parent). Visits at most `2 * result + 1` nodes, because
    /// a subtree whose root fails is skipped whole. Recursion depth is the heap height.
    package static func countPrefix(_ heap: [QueueNode], from slot: Int = 0,
                                    where include: (QueueNode) -> Bool) -> Int {
        guard slot < heap.count, include(heap[slot]) else { return 0 }
        return 1 + countPrefix(heap, from: 2 * slot + 1, where: include)
            + countPrefix(heap, from: 2 * slot + 2, where: include)
    }
}

/// Walks a queue's items in service order without sorting or copying them: a small min-heap
/// (the frontier) holds the candidates, starting with the ten class roots; taking a node adds
/// its two children. The k-th item costs O(log k) plus up to two comparisons per level.
///
/// The cursor does not hold the heaps (each `next` borrows them), so it keeps no reference
/// that would force a copy when the caller mutates the queue afterwards. The heaps must not
/// change while a cursor is in use.
package struct ServiceOrderCursor {
    /// A frontier candidate: class and slot, packed into 8 bytes.
    package struct Spot: Equatable, Sendable {
        /// The priority class (index into the heaps).
        package var priority: Int32
        /// The slot in that class heap.
        package var slot: Int32
    }

    private let order: ServiceOrder
    private var frontier: [Spot] = []

    /// A cursor at the first item of `heaps` in `order`; `expected` sizes the frontier.
    package init(heaps: [[QueueNode]], order: ServiceOrder, expected: Int) {
        self.order = order
        frontier.reserveCapacity(min(expected, 1 << 16) + heaps.count)
        for c in heaps.indices where !heaps[c].isEmpty {
            push(Spot(priority: Int32(c), slot: 0), heaps)
        }
    }

    /// The next item in service order, or `nil` when every item has been visited.
    package mutating func next(in heaps: [[QueueNode]]) -> Spot? {
        guard let top = frontier.first else { return nil }
        let last = frontier.removeLast()
        if !frontier.isEmpty {
            frontier[0] = last
            siftDown(heaps)
        }
        let heap = heaps[Int(top.priority)]
        let left = 2 * Int(top.slot) + 1
        if left < heap.count { push(Spot(priority: top.priority, slot: Int32(left)), heaps) }
        if left + 1 < heap.count { push(Spot(priority: top.priority, slot: Int32(left + 1)), heaps) }
        return top
    }

    @inline(__always)
    private func before(_ a: Spot, _ b: Spot, _ heaps: [[QueueNode]]) -> Bool {
        order.precedes(Int(a.priority), heaps[Int(a.priority)][Int(a.slot)],
                       Int(b.priority), heaps[Int(b.priority)][Int(b.slot)])
    }

    private mutating func push(_ spot: Spot, _ heaps: [[QueueNode]]) {
        frontier.append(spot)
        var i = frontier.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(spot, frontier[parent], heaps) else { break }
            frontier[i] = frontier[parent]
            i = parent
        }
        frontier[i] = spot
    }

    private mutating func siftDown(_ heaps: [[QueueNode]]) {
        let spot = frontier[0]
        let n = frontier.count
        var i = 0
        while true {
            var child = 2 * i + 1
            if child >= n { break }
            if child + 1 < n && before(frontier[child + 1], frontier[child], heaps) { child += 1 }
            guard before(frontier[child], spot, heaps) else { break }
            frontier[i] = frontier[child]
            i = child
        }
        frontier[i] = spot
    }
}
