// IntakeCore/Queue: reading a PriorityQueue in service order without sorting it: filtered pops
// for the router, positions for "you are number N" messages, ordered snapshots for admin
// views, and the invariant check that tests run after every operation.
// Same ownership as the queue: value types, written only by the core thread.

extension PriorityQueue {
    /// The first item in service order at `now` whose id satisfies `accept`, looking at no
    /// more than `scanLimit` items (`scanLimit >= 1`); `nil` if none of those is accepted.
    ///
    /// Cost: O(s log s + 10) for the `s <= scanLimit` items looked at, plus `s` calls of
    /// `accept`, whatever the queue's size. Items are visited lazily (a frontier heap over
    /// the class heaps), so an accepted head costs about as much as `peek`.
    public func first(now: EpochMillis, scanLimit: Int = defaultScanLimit,
                      where accept: (ID) -> Bool) -> Entry? {
        guard let spot = firstSpot(now: now, scanLimit: scanLimit, where: accept) else { return nil }
        return entry(Int(spot.priority), heaps[Int(spot.priority)][Int(spot.slot)])
    }

    /// Removes and returns `first(now:scanLimit:where:)`: the best item the caller can take
    /// (the router passes the agent's skill check). Cost as for `first`, plus O(log n).
    public mutating func pop(now: EpochMillis, scanLimit: Int = defaultScanLimit,
                             where accept: (ID) -> Bool) -> Entry? {
        // The cursor borrows the heaps and is gone before `take` mutates them (no copy).
        guard let spot = firstSpot(now: now, scanLimit: scanLimit, where: accept) else { return nil }
        return take(priority: Int(spot.priority), slot: Int(spot.slot))
    }

    /// The 1-based rank of `id` in service order at `now` (1 = served next), or `nil` if it is
    /// not waiting here.
    ///
    /// Cost: O(rank + 10), independent of how many wait behind it: each class heap is walked
    /// only through the nodes served ahead of `id` (a subtree whose root is not ahead of `id`
    /// holds nothing that is). Worst case O(n), for the last item.
    public func position(of id: ID, now: EpochMillis) -> Int? {
        guard let h = handleOf[id] else { return nil }
        let cls = Int(classOf[Int(h)])
        let node = heaps[cls][Int(slotOf[Int(h)])]
        let order = ServiceOrder(now: now, limitMillis: starvationLimitMillis)
        // Items older than `node` in any class; monotone along each heap.
        let older: (QueueNode) -> Bool = { $0.precedes(node) }
        if order.isOverdue(node.enqueuedAt) {
            // Ahead of an overdue item: exactly the older ones (all overdue themselves).
            return 1 + heaps.reduce(0) { $0 + QueueHeap.countPrefix($1, where: older) }
        }
        var rank = 1
        for c in heaps.indices {
            let overdue = QueueHeap.countPrefix(heaps[c], where: { order.isOverdue($0.enqueuedAt) })
            rank += overdue
            if c > cls {
                rank += heaps[c].count - overdue
            } else if c == cls {
                rank += QueueHeap.countPrefix(heaps[c], where: older) - overdue
            }
        }
        return rank
    }

    /// Every waiting item in service order at `now` (for snapshots and admin views).
    /// O(n log n) time, O(n) extra space.
    public func ordered(now: EpochMillis) -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(count)
        var cursor = ServiceOrderCursor(heaps: heaps, order: ServiceOrder(now: now, limitMillis: starvationLimitMillis),
                                        expected: count)
        while let spot = cursor.next(in: heaps) {
            out.append(entry(Int(spot.priority), heaps[Int(spot.priority)][Int(spot.slot)]))
        }
        return out
    }

    private func firstSpot(now: EpochMillis, scanLimit: Int,
                           where accept: (ID) -> Bool) -> ServiceOrderCursor.Spot? {
        precondition(scanLimit >= 1, "BUG: scanLimit \(scanLimit) < 1")
        var cursor = ServiceOrderCursor(heaps: heaps, order: ServiceOrder(now: now, limitMillis: starvationLimitMillis),
                                        expected: scanLimit)
        for _ in 0..<scanLimit {
            guard let spot = cursor.next(in: heaps) else { return nil }
            let h = Int(heaps[Int(spot.priority)][Int(spot.slot)].handle)
            guard let id = idOf[h] else { preconditionFailure("BUG: queued node with a free handle") }
            if accept(id) { return spot }
        }
        return nil
    }

    // MARK: invariants

    /// Every broken internal invariant, as readable sentences; empty when the structure is
    /// sound. O(n). For tests (after every operation of the model-based test) and debugging.
    ///
    /// Checks: heap order in each class; for every node, its handle is live and its id,
    /// class and slot records point back at it; the index, the records and the free list
    /// account for every handle exactly once; sequences are below `nextSequence`.
    package func checkInvariants() -> [String] {
        var problems: [String] = []
        func fail(_ s: String) { if problems.count < 20 { problems.append(s) } }
        let handles = idOf.count
        if slotOf.count != handles || classOf.count != handles {
            fail("record arrays differ in length: ids \(handles), slots \(slotOf.count), classes \(classOf.count)")
            return problems
        }
        var seen = [Bool](repeating: false, count: handles)
        var nodes = 0
        for c in heaps.indices {
            let heap = heaps[c]
            for i in heap.indices {
                let node = heap[i]
                nodes += 1
                if i > 0 && node.precedes(heap[(i - 1) / 2]) {
                    fail("class \(c) slot \(i) sorts before its parent")
                }
                if node.sequence >= nextSequence { fail("class \(c) slot \(i): sequence \(node.sequence) >= next \(nextSequence)") }
                let h = Int(node.handle)
                guard h >= 0 && h < handles else { fail("class \(c) slot \(i): handle \(h) out of range"); continue }
                if seen[h] { fail("handle \(h) is in the heaps twice") }
                seen[h] = true
                if Int(slotOf[h]) != i { fail("handle \(h): slot record \(slotOf[h]), actual \(i)") }
                if Int(classOf[h]) != c { fail("handle \(h): class record \(classOf[h]), actual \(c)") }
                guard let id = idOf[h] else { fail("handle \(h) is queued but has no id"); continue }
                if handleOf[id] != Int32(h) { fail("handle \(h): index maps its id to \(String(describing: handleOf[id]))") }
            }
        }
        if nodes != handleOf.count { fail("heaps hold \(nodes) nodes, index holds \(handleOf.count)") }
        for f in freeHandles {
            let h = Int(f)
            guard h >= 0 && h < handles else { fail("free handle \(h) out of range"); continue }
            if seen[h] { fail("handle \(h) is both free and queued (or free twice)") }
            seen[h] = true
            if idOf[h] != nil { fail("free handle \(h) still has an id") }
        }
        if let lost = seen.firstIndex(of: false) { fail("handle \(lost) is neither queued nor free") }
        return problems
    }
}
