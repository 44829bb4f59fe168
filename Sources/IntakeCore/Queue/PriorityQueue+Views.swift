// IntakeCore/Queue: bounded views of a PriorityQueue for admin pages and snapshots: the first
// `limit` items in service order without ordering the rest, and every item in insertion order.
// Same ownership as the queue: read by whoever holds a copy.

extension PriorityQueue {
    /// The first `limit` waiting items in service order at `now`. O(limit log limit + 10).
    public func ordered(now: EpochMillis, limit: Int) -> [Entry] {
        precondition(limit >= 0, "BUG: negative limit")
        var out: [Entry] = []
        out.reserveCapacity(Swift.min(count, limit))
        var cursor = ServiceOrderCursor(heaps: heaps, order: ServiceOrder(now: now, limitMillis: starvationLimitMillis),
                                        expected: Swift.min(count, limit))
        while out.count < limit, let spot = cursor.next(in: heaps) {
            out.append(entry(Int(spot.priority), heaps[Int(spot.priority)][Int(spot.slot)]))
        }
        return out
    }

    /// Every waiting item in the order it was pushed (ascending `sequence`). Pushing them
    /// again in this order into an empty queue rebuilds the same service order. O(n log n).
    public func entriesInInsertionOrder() -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(count)
        for c in heaps.indices {
            for node in heaps[c] { out.append(entry(c, node)) }
        }
        out.sort { $0.sequence < $1.sequence }
        return out
    }
}
