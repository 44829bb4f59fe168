// Table-driven cases for PriorityQueue's service order (classes, equal times, re-queueing,
// reprioritising, removal, anti-starvation) and its positions, filtered pops and bounds.
// Every case is checked three ways: ordered(now:), repeated pop(now:), and position(of:now:).
import Testing
@testable import IntakeCore

/// One step that builds a queue for an ordering case.
enum QueueStep: Sendable {
    case push(String, priority: Int, at: EpochMillis)
    case remove(String)
    case reprioritise(String, to: Int)
}

/// A named ordering case: build the queue, then the service order at `now` must be `expected`.
struct OrderCase: Sendable, CustomStringConvertible {
    let description: String
    var limit: EpochMillis? = 600
    let steps: [QueueStep]
    var now: EpochMillis = 1_000
    let expected: [String]
}

let orderCases: [OrderCase] = [
    OrderCase(description: "higher class first", steps: [
        .push("a", priority: 1, at: 900), .push("b", priority: 9, at: 950), .push("c", priority: 5, at: 930),
    ], expected: ["b", "c", "a"]),
    OrderCase(description: "oldest first within a class", steps: [
        .push("a", priority: 5, at: 930), .push("b", priority: 5, at: 910), .push("c", priority: 5, at: 920),
    ], expected: ["b", "c", "a"]),
    OrderCase(description: "equal times: insertion order", steps: [
        .push("a", priority: 5, at: 910), .push("b", priority: 5, at: 910), .push("c", priority: 5, at: 910),
    ], expected: ["a", "b", "c"]),
    OrderCase(description: "re-queued with original time goes to the front of its class", steps: [
        .push("a", priority: 5, at: 950), .push("b", priority: 5, at: 960), .push("h", priority: 6, at: 990),
        .push("r", priority: 5, at: 900),
    ], expected: ["h", "r", "a", "b"]),
    OrderCase(description: "re-queued with a time equal to a waiting item goes behind it", steps: [
        .push("a", priority: 5, at: 950), .push("b", priority: 5, at: 960), .push("r", priority: 5, at: 950),
    ], expected: ["a", "r", "b"]),
    OrderCase(description: "reprioritise up keeps the wait time", steps: [
        .push("a", priority: 3, at: 910), .push("b", priority: 5, at: 920), .push("c", priority: 5, at: 930),
        .reprioritise("a", to: 5),
    ], expected: ["a", "b", "c"]),
    OrderCase(description: "reprioritise into a busier class lands by time", steps: [
        .push("a", priority: 5, at: 910), .push("b", priority: 5, at: 930), .push("c", priority: 2, at: 920),
        .reprioritise("c", to: 5), .reprioritise("b", to: 9),
    ], expected: ["b", "a", "c"]),
    OrderCase(description: "reprioritise down", steps: [
        .push("a", priority: 9, at: 910), .push("b", priority: 5, at: 920), .reprioritise("a", to: 1),
    ], expected: ["b", "a"]),
    OrderCase(description: "reprioritise to the same class changes nothing", steps: [
        .push("a", priority: 4, at: 910), .push("b", priority: 4, at: 920), .reprioritise("b", to: 4),
    ], expected: ["a", "b"]),
    OrderCase(description: "remove from the middle, head and tail", steps: [
        .push("a", priority: 5, at: 901), .push("b", priority: 5, at: 902), .push("c", priority: 5, at: 903),
        .push("d", priority: 5, at: 904), .push("e", priority: 5, at: 905), .push("f", priority: 5, at: 906),
        .remove("c"), .remove("a"), .remove("f"),
    ], expected: ["b", "d", "e"]),
    OrderCase(description: "waited exactly the limit: not overdue", steps: [
        .push("old", priority: 0, at: 400), .push("new", priority: 9, at: 990),
    ], expected: ["new", "old"]),
    OrderCase(description: "waited one millisecond over the limit: overdue beats a new high item", steps: [
        .push("old", priority: 0, at: 399), .push("new", priority: 9, at: 990),
    ], expected: ["old", "new"]),
    OrderCase(description: "several overdue: oldest first whatever the class", steps: [
        .push("a", priority: 0, at: 100), .push("b", priority: 3, at: 50), .push("d", priority: 9, at: 200),
        .push("c", priority: 9, at: 990), .push("e", priority: 1, at: 980),
    ], expected: ["b", "a", "d", "c", "e"]),
    OrderCase(description: "overdue with equal times: lower sequence first, class ignored", steps: [
        .push("low", priority: 0, at: 100), .push("high", priority: 9, at: 100),
    ], expected: ["low", "high"]),
    OrderCase(description: "no limit: an old low item never beats a high one", limit: nil, steps: [
        .push("old", priority: 0, at: -1_000_000), .push("new", priority: 9, at: 990),
    ], expected: ["new", "old"]),
    OrderCase(description: "limit zero: anything older than now is overdue", limit: 0, steps: [
        .push("now", priority: 9, at: 1_000), .push("past", priority: 0, at: 999),
    ], expected: ["past", "now"]),
    OrderCase(description: "empty", steps: [], expected: []),
    OrderCase(description: "emptied by removal", steps: [.push("a", priority: 2, at: 1), .remove("a")], expected: []),
]

func build(_ c: OrderCase) -> PriorityQueue<String> {
    var q = PriorityQueue<String>(starvationLimitMillis: c.limit)
    for step in c.steps {
        switch step {
        case let .push(id, p, at):
            let pushed = q.push(id, priority: p, enqueuedAt: at)
            #expect(pushed, "\(c): push \(id)")
        case let .remove(id):
            let removed = q.remove(id)
            #expect(removed?.id == id, "\(c): remove \(id)")
        case let .reprioritise(id, p):
            let moved = q.reprioritise(id, to: p)
            #expect(moved, "\(c): reprioritise \(id)")
        }
    }
    return q
}

@Suite(.timeLimit(.minutes(5))) struct PriorityQueueOrderTests {
    @Test(arguments: orderCases) func serviceOrder(_ c: OrderCase) {
        var q = build(c)
        #expect(q.checkInvariants() == [], "\(c)")
        #expect(q.ordered(now: c.now).map(\.id) == c.expected, "\(c): ordered")
        for (i, id) in c.expected.enumerated() {
            #expect(q.position(of: id, now: c.now) == i + 1, "\(c): position of \(id)")
        }
        #expect(q.position(of: "absent", now: c.now) == nil)
        #expect(q.count == c.expected.count)
        var popped: [String] = []
        for _ in 0...c.expected.count {
            let peeked = q.peek(now: c.now)
            guard let e = q.pop(now: c.now) else { #expect(peeked == nil); break }
            #expect(peeked == e, "\(c): peek agrees with pop")
            popped.append(e.id)
            #expect(q.checkInvariants() == [], "\(c)")
        }
        #expect(popped == c.expected, "\(c): pops")
        #expect(q.isEmpty)
    }

    @Test func reprioritiseKeepsTimeAndSequence() {
        var q = PriorityQueue<String>()
        _ = q.push("a", priority: 2, enqueuedAt: 50)
        let before = q.entry(for: "a")
        let moved = q.reprioritise("a", to: 7)
        #expect(moved)
        #expect(q.entry(for: "a") == PriorityQueue.Entry(id: "a", priority: 7, enqueuedAt: 50, sequence: before?.sequence ?? 99))
        let movedMissing = q.reprioritise("missing", to: 3)
        #expect(!movedMissing)
        #expect(q.count(priority: 2) == 0 && q.count(priority: 7) == 1)
    }

    @Test func becomesOverdueExactlyOneMillisecondAfterTheLimit() {
        var q = PriorityQueue<String>(starvationLimitMillis: 600_000)
        _ = q.push("old", priority: 0, enqueuedAt: 0)
        _ = q.push("new", priority: 9, enqueuedAt: 599_000)
        #expect(q.peek(now: 600_000)?.id == "new")
        #expect(q.position(of: "old", now: 600_000) == 2)
        #expect(q.peek(now: 600_001)?.id == "old")
        #expect(q.position(of: "old", now: 600_001) == 1)
        #expect(q.isOverdue(q.entry(for: "old")!, now: 600_001))
        #expect(!q.isOverdue(q.entry(for: "old")!, now: 600_000))
        q.starvationLimitMillis = nil
        #expect(q.peek(now: 600_001)?.id == "new", "turning the limit off restores class order")
        q.starvationLimitMillis = 1_000_000
        #expect(q.peek(now: 600_001)?.id == "new")
        #expect(q.peek(now: 1_000_001)?.id == "old")
    }

    @Test func duplicatePushIsRefusedAndChangesNothing() {
        var q = PriorityQueue<String>()
        let first = q.push("a", priority: 3, enqueuedAt: 10)
        let second = q.push("a", priority: 9, enqueuedAt: 5)
        #expect(first && !second)
        #expect(q.count == 1 && q.count(priority: 9) == 0)
        #expect(q.entry(for: "a")?.priority == 3 && q.entry(for: "a")?.enqueuedAt == 10)
        #expect(q.checkInvariants() == [])
    }

    @Test func countsAndOldest() {
        var q = PriorityQueue<String>(starvationLimitMillis: 100)
        let popped = q.pop(now: 0)
        #expect(q.oldestEnqueuedAt == nil && q.isEmpty && q.peek(now: 0) == nil && popped == nil)
        _ = q.push("a", priority: 9, enqueuedAt: 30)
        _ = q.push("b", priority: 0, enqueuedAt: 20)
        _ = q.push("c", priority: 0, enqueuedAt: 40)
        #expect(q.oldestEnqueuedAt == 20)
        #expect(q.count == 3 && q.count(priority: 0) == 2 && q.count(priority: 9) == 1 && q.count(priority: 5) == 0)
        #expect(q.contains("b") && !q.contains("z"))
        _ = q.remove("b")
        let again = q.remove("b")
        #expect(q.oldestEnqueuedAt == 30 && !q.contains("b") && again == nil)
    }

    @Test func filteredPopLooksOnlyAtTheScanLimit() {
        var q = PriorityQueue<String>()
        for (i, id) in ["a", "b", "c", "d", "e"].enumerated() { _ = q.push(id, priority: 5, enqueuedAt: EpochMillis(i)) }
        var asked: [String] = []
        #expect(q.first(now: 10, scanLimit: 3, where: { asked.append($0); return $0 == "d" }) == nil)
        #expect(asked == ["a", "b", "c"], "predicate called in service order, at most scanLimit times")
        let beyond = q.pop(now: 10, scanLimit: 3, where: { $0 == "d" })
        #expect(beyond == nil)
        #expect(q.count == 5)
        #expect(q.first(now: 10, scanLimit: 4, where: { $0 == "d" })?.id == "d")
        #expect(q.count == 5, "first does not remove")
        let within = q.pop(now: 10, scanLimit: 4, where: { $0 == "d" })
        #expect(within?.id == "d")
        #expect(q.ordered(now: 10).map(\.id) == ["a", "b", "c", "e"])
        let none = q.pop(now: 10, scanLimit: 100, where: { _ in false })
        let any = q.pop(now: 10, where: { _ in true })
        #expect(none == nil && any?.id == "a")
        #expect(q.checkInvariants() == [])
    }

    @Test func filteredPopHonoursAntiStarvation() {
        var q = PriorityQueue<String>(starvationLimitMillis: 10)
        _ = q.push("high", priority: 9, enqueuedAt: 95)
        _ = q.push("old-skill-x", priority: 0, enqueuedAt: 50)
        _ = q.push("old-skill-y", priority: 0, enqueuedAt: 60)
        #expect(q.first(now: 100, scanLimit: 1, where: { $0.hasSuffix("y") }) == nil)
        let y = q.pop(now: 100, scanLimit: 3, where: { $0.hasSuffix("y") })
        let notX = q.pop(now: 100, scanLimit: 3, where: { $0 != "old-skill-x" })
        #expect(y?.id == "old-skill-y" && notX?.id == "high")
    }

    @Test func extremeClockValuesDoNotTrap() {
        var q = PriorityQueue<String>(starvationLimitMillis: 600_000)
        _ = q.push("min", priority: 0, enqueuedAt: .min)
        _ = q.push("max", priority: 9, enqueuedAt: .max)
        #expect(q.ordered(now: .min).map(\.id) == ["max", "min"], "now - limit overflows: nothing overdue")
        #expect(q.ordered(now: .max).map(\.id) == ["min", "max"])
        #expect(q.position(of: "max", now: .max) == 2)
        #expect(q.oldestEnqueuedAt == .min)
    }

    @Test func positionCostFollowsRank() {
        var q = PriorityQueue<Int>()
        for i in 0..<10_000 { _ = q.push(i, priority: i % 10, enqueuedAt: EpochMillis(i)) }
        // Class 9 holds 0-based items 9, 19, ...; the oldest of them is first.
        #expect(q.position(of: 9, now: 0) == 1)
        #expect(q.position(of: 19, now: 0) == 2)
        #expect(q.position(of: 0, now: 0) == 9_001)
        #expect(q.position(of: 9_990, now: 0) == 10_000)
        #expect(q.ordered(now: 0).count == 10_000)
    }

    @Test func outOfRangePriorityIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) {
            var q = PriorityQueue<String>()
            _ = q.push("a", priority: 10, enqueuedAt: 0)
        }
    }
}
