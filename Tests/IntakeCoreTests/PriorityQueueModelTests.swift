// Model-based tests: seeded random operation sequences run against PriorityQueue (and
// QueueSet) and against a plain array model sorted by an independently written service-order
// key. After every step the results must agree and checkInvariants() must report nothing.
// A failure message names the seed and step so the run can be replayed.
import Testing
import IntakeTestSupport
@testable import IntakeCore

/// The reference: an unsorted array, sorted on demand by the documented rule.
struct QueueModel {
    struct Item: Equatable {
        var id: String
        var priority: Int
        var at: EpochMillis
        var seq: UInt64
    }

    var items: [Item] = []
    var nextSeq: UInt64 = 0
    var limit: EpochMillis?

    /// The documented order, written without the queue's helpers: overdue (waited strictly
    /// longer than the limit) first by (time, seq); then (class descending, time, seq).
    func ordered(now: EpochMillis) -> [Item] {
        // Field by field rather than tuple `<`, which is slow in debug builds.
        func overdue(_ i: Item) -> Bool { limit.map { now - i.at > $0 } ?? false }
        return items.sorted { a, b in
            let ao = overdue(a), bo = overdue(b)
            if ao != bo { return ao }
            if !ao && a.priority != b.priority { return a.priority > b.priority }
            if a.at != b.at { return a.at < b.at }
            return a.seq < b.seq
        }
    }

    mutating func push(_ id: String, priority: Int, at: EpochMillis) -> Bool {
        guard !items.contains(where: { $0.id == id }) else { return false }
        items.append(Item(id: id, priority: priority, at: at, seq: nextSeq))
        nextSeq += 1
        return true
    }

    mutating func remove(_ id: String) -> Item? {
        guard let i = items.firstIndex(where: { $0.id == id }) else { return nil }
        return items.remove(at: i)
    }
}

extension PriorityQueue<String>.Entry {
    var asModel: QueueModel.Item { QueueModel.Item(id: id, priority: priority, at: enqueuedAt, seq: sequence) }
}

/// Drives one random run; `check` records the first disagreement with seed and step.
struct ModelRun {
    var rng: SeededRandom
    let seed: UInt64
    var step = 0
    var failures: [String] = []

    init(seed: UInt64) { self.seed = seed; rng = SeededRandom(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    mutating func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok && failures.count < 5 { failures.append("seed \(seed) step \(step): \(what())") }
    }

    /// A wait start near `now`: fresh, re-queued (older), on the overdue boundary, or tied.
    mutating func enqueueTime(now: EpochMillis, limit: EpochMillis, model: QueueModel) -> EpochMillis {
        switch int(0...9) {
        case 0...3: return now
        case 4...5: return now - EpochMillis(int(0...Int(limit) * 2))
        case 6: return now - limit
        case 7: return now - limit - 1
        case 8: return model.items.isEmpty ? now : model.items[int(0...model.items.count - 1)].at
        default: return now + EpochMillis(int(0...5_000))
        }
    }

    mutating func advance(_ now: inout EpochMillis, limit: EpochMillis) {
        switch int(0...9) {
        case 0...5: now += EpochMillis(int(0...2_000))
        case 6: now += limit
        case 7: now += limit * EpochMillis(int(2...20))
        case 8: now += 1
        default: now -= EpochMillis(int(0...30_000))   // wall clocks step back; order must still hold
        }
    }
}

/// Picks an id: usually a waiting one, sometimes one that is not waiting.
func pickID(_ run: inout ModelRun, _ model: QueueModel, fresh: Int) -> String {
    if !model.items.isEmpty && run.chance(85) { return model.items[run.int(0...model.items.count - 1)].id }
    return "s\(run.int(0...fresh + 3))"
}

@Suite(.timeLimit(.minutes(5))) struct PriorityQueueModelTests {
    static let seeds: [UInt64] = [1, 0xC0FFEE, 0x5EED_0F_1A7A]

    @Test(arguments: seeds) func agreesWithSortedArrayModel(seed: UInt64) {
        let baseLimit: EpochMillis = 600_000
        var run = ModelRun(seed: seed)
        var queue = PriorityQueue<String>(starvationLimitMillis: baseLimit)
        var model = QueueModel(limit: baseLimit)
        var now: EpochMillis = 1_700_000_000_000
        var fresh = 0
        var target = 24   // population drifts around this, with drains to empty
        for step in 0..<100_000 {
            run.step = step
            if step % 5_000 == 0 { target = [0, 4, 24, 80][run.int(0...3)] }
            let grow = model.items.count < target
            switch run.int(0...99) {
            case 0..<(grow ? 40 : 15):
                let id = run.chance(5) ? pickID(&run, model, fresh: fresh) : "s\(fresh)"
                if id == "s\(fresh)" { fresh += 1 }
                let p = run.int(0...9)
                let at = run.enqueueTime(now: now, limit: baseLimit, model: model)
                let got = queue.push(id, priority: p, enqueuedAt: at)
                let want = model.push(id, priority: p, at: at)
                run.check(got == want, "push \(id) p\(p) at \(at): \(got) vs model \(want)")
            case 40..<55:
                let want = model.ordered(now: now).first
                run.check(queue.pop(now: now)?.asModel == want, "pop at \(now)")
                if let want { _ = model.remove(want.id) }
            case 55..<63:
                let id = pickID(&run, model, fresh: fresh)
                let got = queue.remove(id)?.asModel
                run.check(got == model.remove(id), "remove \(id)")
            case 63..<71:
                let id = pickID(&run, model, fresh: fresh)
                let p = run.int(0...9)
                let got = queue.reprioritise(id, to: p)
                let i = model.items.firstIndex { $0.id == id }
                if let i { model.items[i].priority = p }
                run.check(got == (i != nil), "reprioritise \(id) to \(p)")
            case 71..<75:
                run.check(queue.peek(now: now)?.asModel == model.ordered(now: now).first, "peek at \(now)")
            case 75..<85:
                // A skill check: the last digit of the id, as a router's predicate would be.
                let digit = UInt8(ascii: "0") + UInt8(run.int(0...9))
                let scanLimit = run.int(1...12)
                let accept: (String) -> Bool = { $0.utf8.last == digit || $0.utf8.last == digit &+ 1 }
                let want = model.ordered(now: now).prefix(scanLimit).first { accept($0.id) }
                if run.chance(50) {
                    run.check(queue.pop(now: now, scanLimit: scanLimit, where: accept)?.asModel == want,
                              "pop(where:) scanLimit \(scanLimit) at \(now)")
                    if let want { _ = model.remove(want.id) }
                } else {
                    run.check(queue.first(now: now, scanLimit: scanLimit, where: accept)?.asModel == want,
                              "first(where:) scanLimit \(scanLimit) at \(now)")
                }
            case 85..<93:
                let id = pickID(&run, model, fresh: fresh)
                let want = model.ordered(now: now).firstIndex { $0.id == id }.map { $0 + 1 }
                run.check(queue.position(of: id, now: now) == want, "position of \(id) at \(now)")
            case 93..<99:
                run.advance(&now, limit: baseLimit)
            default:
                let limit: EpochMillis? = [nil, 0, 1_000, baseLimit][run.int(0...3)]
                queue.starvationLimitMillis = limit
                model.limit = limit
            }
            run.check(queue.count == model.items.count, "count \(queue.count) vs \(model.items.count)")
            run.check(queue.oldestEnqueuedAt == model.items.map(\.at).min(), "oldestEnqueuedAt")
            let p = step % 10
            run.check(queue.count(priority: p) == model.items.count { $0.priority == p }, "count(priority: \(p))")
            if step % 16 == 0 {
                run.check(queue.ordered(now: now).map(\.asModel) == model.ordered(now: now), "ordered at \(now)")
            }
            let problems = queue.checkInvariants()
            run.check(problems.isEmpty, "invariants: \(problems)")
            if !run.failures.isEmpty { break }
        }
        #expect(run.failures.isEmpty, "\(run.failures)")
    }

    @Test(arguments: seeds) func queueSetAgreesWithPerQueueModels(seed: UInt64) {
        let names = ["web", "wechat", "phone"]
        var run = ModelRun(seed: seed)
        var set = QueueSet<String>(defaultStarvationLimitMillis: 60_000)
        var models: [String: QueueModel] = [:]
        for name in names { models[name] = QueueModel(limit: 60_000) }
        var owner: [String: String] = [:]   // the model's global index: id → queue
        var now: EpochMillis = 1_000_000
        var fresh = 0
        for step in 0..<20_000 {
            run.step = step
            let name = names[run.int(0...2)]
            let grow = owner.count < (step / 2_000 % 2 == 0 ? 60 : 6)
            // Any waiting id (or a missing one): the set must find it without being told where.
            let anyID = owner.isEmpty || run.chance(10) ? "s\(run.int(0...fresh + 3))"
                : models[names[run.int(0...2)]]!.items.first.map(\.id) ?? "s\(fresh + 1)"
            switch run.int(0...9) {
            case 0...(grow ? 4 : 1):
                let id = run.chance(10) ? anyID : "s\(fresh)"
                if id == "s\(fresh)" { fresh += 1 }
                let p = run.int(0...9)
                let at = run.enqueueTime(now: now, limit: 60_000, model: models[name]!)
                let got = set.push(id, queue: name, priority: p, enqueuedAt: at)
                let want = owner[id] == nil && models[name]!.push(id, priority: p, at: at)
                if want { owner[id] = name }
                run.check(got == want, "push \(id) to \(name)")
            case 5...6:
                let want = models[name]!.ordered(now: now).first
                run.check(set.pop(queue: name, now: now)?.asModel == want, "pop \(name)")
                if let want { _ = models[name]!.remove(want.id); owner[want.id] = nil }
            case 7:
                let got = set.remove(anyID)
                let want = owner[anyID].flatMap { models[$0]!.remove(anyID) }
                run.check(got?.queue == owner[anyID] && got?.entry.asModel == want, "remove \(anyID)")
                owner[anyID] = nil
            case 8:
                let p = run.int(0...9)
                run.check(set.reprioritise(anyID, to: p) == (owner[anyID] != nil), "reprioritise \(anyID)")
                if let q = owner[anyID], let i = models[q]!.items.firstIndex(where: { $0.id == anyID }) {
                    models[q]!.items[i].priority = p
                }
                run.check(set.queueName(of: anyID) == owner[anyID], "queueName(of: \(anyID))")
                let want = owner[anyID].flatMap { q in models[q]!.ordered(now: now).firstIndex { $0.id == anyID }.map { $0 + 1 } }
                run.check(set.position(of: anyID, now: now) == want, "position of \(anyID)")
            default:
                run.advance(&now, limit: 60_000)
            }
            run.check(set.totalCount == owner.count, "totalCount \(set.totalCount) vs \(owner.count)")
            let p = run.int(0...9)
            run.check(set.depth(queue: name, priority: p) == models[name]!.items.count { $0.priority == p },
                      "depth(\(name), \(p))")
            let problems = set.checkInvariants()
            run.check(problems.isEmpty, "invariants: \(problems)")
            if !run.failures.isEmpty { break }
        }
        #expect(run.failures.isEmpty, "\(run.failures)")
    }
}
