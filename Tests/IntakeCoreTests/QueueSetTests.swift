// QueueSet cases: named queues created on first use, one global id index (remove and
// reprioritise without naming the queue), duplicate ids across queues, depths and counts,
// per-queue starvation limits, and filtered pops through the set.
import Testing
@testable import IntakeCore

@Suite(.timeLimit(.minutes(5))) struct QueueSetTests {
    /// web: a (p5, t10), b (p9, t20); phone: c (p1, t5).
    func sample() -> QueueSet<String> {
        var set = QueueSet<String>(defaultStarvationLimitMillis: 1_000)
        for (id, queue, p, at) in [("a", "web", 5, 10), ("b", "web", 9, 20), ("c", "phone", 1, 5)] {
            let pushed = set.push(id, queue: queue, priority: p, enqueuedAt: EpochMillis(at))
            #expect(pushed, "push \(id)")
        }
        return set
    }

    @Test func countsDepthsAndNames() {
        let set = sample()
        #expect(set.totalCount == 3)
        #expect(set.queueNames == ["phone", "web"])
        #expect(set.depth(queue: "web") == 2 && set.depth(queue: "phone") == 1 && set.depth(queue: "app") == 0)
        #expect(set.depth(queue: "web", priority: 9) == 1 && set.depth(queue: "web", priority: 1) == 0)
        #expect(set.depth(queue: "nowhere", priority: 3) == 0)
        #expect(set.queueName(of: "c") == "phone" && set.queueName(of: "z") == nil)
        #expect(set.contains("a") && !set.contains("z"))
        #expect(set.entry(for: "b")?.queue == "web" && set.entry(for: "b")?.entry.priority == 9)
        #expect(set[queue: "web"]?.ordered(now: 30).map(\.id) == ["b", "a"])
        #expect(set[queue: "app"] == nil)
        #expect(set.checkInvariants() == [])
    }

    @Test func anIDWaitsInOneQueueOnly() {
        var set = sample()
        let again = set.push("a", queue: "phone", priority: 9, enqueuedAt: 0)
        let sameQueue = set.push("a", queue: "web", priority: 9, enqueuedAt: 0)
        #expect(!again && !sameQueue)
        #expect(set.totalCount == 3 && set.depth(queue: "phone") == 1)
        #expect(set.checkInvariants() == [])
    }

    @Test func removeAndReprioritiseWithoutNamingTheQueue() {
        var set = sample()
        let removed = set.remove("c")
        #expect(removed?.queue == "phone" && removed?.entry.id == "c")
        let removedAgain = set.remove("c")
        #expect(removedAgain == nil && set.totalCount == 2)
        #expect(set.queueNames == ["phone", "web"], "an emptied queue keeps its name")
        let moved = set.reprioritise("a", to: 9)
        let movedMissing = set.reprioritise("c", to: 9)
        #expect(moved && !movedMissing)
        #expect(set.position(of: "a", now: 30) == 1, "a is older than b in the same class now")
        #expect(set.position(of: "c", now: 30) == nil)
        #expect(set.checkInvariants() == [])
    }

    @Test func popsClearTheIndex() {
        var set = sample()
        #expect(set.peek(queue: "web", now: 30)?.id == "b")
        let first = set.pop(queue: "web", now: 30)
        let missing = set.pop(queue: "app", now: 30)
        #expect(first?.id == "b" && missing == nil)
        #expect(!set.contains("b") && set.queueName(of: "b") == nil && set.totalCount == 2)
        let skipped = set.pop(queue: "web", now: 30, scanLimit: 4, where: { $0 != "a" })
        let taken = set.pop(queue: "web", now: 30, where: { $0 == "a" })
        #expect(skipped == nil && taken?.id == "a" && !set.contains("a"))
        let pushedBack = set.push("b", queue: "phone", priority: 0, enqueuedAt: 20)
        #expect(pushedBack && set.queueName(of: "b") == "phone")
        #expect(set.checkInvariants() == [])
    }

    @Test func starvationLimitsArePerQueue() {
        var set = sample()
        let late = set.push("late", queue: "web", priority: 0, enqueuedAt: 0)
        #expect(late)
        #expect(set.peek(queue: "web", now: 1_001)?.id == "late", "default limit 1000 ms applies")
        set.addQueue("web", starvationLimitMillis: nil)
        #expect(set.peek(queue: "web", now: 1_001)?.id == "b")
        set.addQueue("app", starvationLimitMillis: 5)
        #expect(set.queueNames == ["app", "phone", "web"] && set[queue: "app"]?.starvationLimitMillis == 5)
        let app = set.push("x", queue: "app", priority: 0, enqueuedAt: 0)
        let appHigh = set.push("y", queue: "app", priority: 9, enqueuedAt: 4)
        #expect(app && appHigh && set.peek(queue: "app", now: 6)?.id == "x")
        #expect(set.checkInvariants() == [])
    }
}
