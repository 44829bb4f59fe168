// Seeded random operation sequences against the router, checked after every step against an
// independent model: no session held by two agents, no agent over capacity per kind (pending
// offers included, a call blocking chats), every session in exactly one state and none lost,
// and every queue offer the first eligible session in service order (brute force over the
// model's queue). Every failure message names the seed and step.
import Testing
import IntakeTestSupport
@testable import IntakeCore

/// The model: what the router's actions say happened, checked as they are replayed.
struct RouterModel {
    enum State: Equatable {
        case queued
        case offered(agent: String, offer: OfferID)
        case assigned(String)
        case wrappingUp(String)
        /// Between a revoke or decline and the requeue or renewal that must follow.
        case limbo
    }
    struct Session {
        var request: SessionRequest
        var state: State
        var excluded: Set<String> = []
        var seq: UInt64 = 0
    }

    let agents: [String: AgentSpec]
    let config: RouterConfig
    var presence: [String: Presence] = [:]
    var connected: [String: Bool] = [:]
    var live: [String: Session] = [:]
    var closed: Set<String> = []
    var seq: UInt64 = 0
    var failures: [String] = []
    var context = ""

    mutating func fail(_ s: String) { if failures.count < 5 { failures.append("\(context): \(s)") } }

    func load(_ agent: String, _ kind: ChannelKind) -> Int {
        live.values.reduce(0) { n, s in
            guard s.request.kind == kind else { return n }
            switch s.state {
            case .offered(agent, _), .assigned(agent), .wrappingUp(agent): return n + 1
            default: return n
            }
        }
    }

    func available(_ agent: String, _ kind: ChannelKind) -> Bool {
        let spec = agents[agent]!
        guard presence[agent] == .online, connected[agent] == true else { return false }
        guard load(agent, kind) < (kind == .chat ? spec.chat : spec.voice) else { return false }
        if kind == .chat && load(agent, .voice) > 0 { return false }
        if kind == .voice && config.chatBlocksVoice && load(agent, .chat) > 0 { return false }
        return true
    }

    /// The documented eligibility, written without the router's lanes and groups.
    func eligible(_ s: Session, _ agent: String, now: EpochMillis) -> Bool {
        if s.excluded.contains(agent) { return false }
        let skills = agents[agent]!.skills
        var delta = 0
        var overflow: [(String, Int)] = []
        for step in config.relaxation where step.afterMillis <= now - s.request.enqueuedAt {
            switch step.change {
            case .lowerProficiency(let by): delta += by
            case .addOverflowSkill(let k, let p): overflow.append((k, p))
            }
        }
        if s.request.requirements.allSatisfy({ (skills[$0.key] ?? 0) >= max(1, $0.value - delta) }) { return true }
        return overflow.contains { (skills[$0.0] ?? 0) >= $0.1 }
    }

    func precedes(_ x: Session, _ y: Session, now: EpochMillis) -> Bool {
        func overdue(_ s: Session) -> Bool {
            guard let limit = config.starvationLimit(queue: s.request.queue) else { return false }
            return now - s.request.enqueuedAt > limit
        }
        let ox = overdue(x), oy = overdue(y)
        if ox != oy { return ox }
        if !ox && x.request.priority != y.request.priority { return x.request.priority > y.request.priority }
        if x.request.enqueuedAt != y.request.enqueuedAt { return x.request.enqueuedAt < y.request.enqueuedAt }
        return x.seq < y.seq
    }

    mutating func push(_ id: String) {
        live[id]!.state = .queued
        live[id]!.seq = seq
        seq += 1
    }

    /// Replays one action.
    mutating func apply(_ action: RouterAction, now: EpochMillis) {
        switch action {
        case let .offer(o, reason):
            guard var s = live[o.session] else { return fail("offer of unknown session \(o.session)") }
            let restart = reason == .restart
            if restart {
                if s.state != .limbo { fail("renewed offer of \(o.session) in state \(s.state)") }
            } else {
                if !o.direct && s.state != .queued { fail("offer of \(o.session) in state \(s.state)") }
                if !available(o.agent, s.request.kind) {
                    fail("offer \(o.session)→\(o.agent): agent not available (\(s.request.kind), load chat \(load(o.agent, .chat)) voice \(load(o.agent, .voice)), \(String(describing: presence[o.agent])))")
                }
            }
            if !o.direct && !restart {
                if !eligible(s, o.agent, now: now) { fail("offer \(o.session)→\(o.agent): not eligible") }
                let open = PerKind(chat: available(o.agent, .chat), voice: available(o.agent, .voice))
                for (id, t) in live where id != o.session && t.state == .queued {
                    if open[t.request.kind] && precedes(t, s, now: now) && eligible(t, o.agent, now: now) {
                        fail("offer \(o.session)→\(o.agent) while \(id) (p\(t.request.priority), at \(t.request.enqueuedAt)) waits ahead of it (p\(s.request.priority), at \(s.request.enqueuedAt))")
                    }
                }
            }
            s.state = .offered(agent: o.agent, offer: o.id)
            live[o.session] = s
        case let .revoke(o, cause):
            if closed.contains(o.session) { return }
            guard let s = live[o.session] else { return fail("revoke of unknown \(o.session)") }
            if s.state != .offered(agent: o.agent, offer: o.id) && !(s.state == .limbo && cause == .sessionEnded) {
                fail("revoke of \(o.session) in state \(s.state)")
            }
            if cause == .timedOut { live[o.session]!.excluded.insert(o.agent) }
            live[o.session]!.state = .limbo
        case let .assigned(session, agent):
            guard live[session]?.state.isOffered(to: agent) == true else { return fail("assigned \(session) not offered to \(agent)") }
            live[session]!.state = .assigned(agent)
        case let .requeued(session, _):
            guard live[session] != nil else { return fail("requeue of unknown \(session)") }
            push(session)
        case let .presenceChanged(agent, p, _):
            presence[agent] = p
            if p == .offline { goneOffline(agent) }
        case .relaxed, .rejected:
            break
        }
    }

    /// An agent went offline: its wrap-ups end (its assigned sessions are requeued by actions).
    mutating func goneOffline(_ agent: String) {
        connected[agent] = false
        for (id, s) in live where s.state == .wrappingUp(agent) {
            live[id] = nil
            closed.insert(id)
        }
        for (id, s) in live where s.state == .assigned(agent) { live[id]!.state = .limbo }
    }
}

extension RouterModel.State {
    func isOffered(to agent: String) -> Bool {
        if case .offered(agent, _) = self { return true }
        return false
    }
}

/// One seeded run.
struct RouterRandomRun {
    let seed: UInt64
    var rng: SeededRandom
    var router: Router
    var model: RouterModel
    var now: EpochMillis = 10_000_000
    var step = 0
    var nextSession = 0
    var counts: [String: Int] = [:]
    let agentIDs: [String]
    let skills = ["general", "enterprise", "english", "cantonese", "overflow"]

    static let config: RouterConfig = {
        var c = RouterConfig()
        c.relaxation = [RelaxationStep(afterMillis: 60_000, .lowerProficiency(by: 1)),
                        RelaxationStep(afterMillis: 180_000, .addOverflowSkill("overflow", minProficiency: 1))]
        c.starvationLimitMillis = ["general": 120_000, "enterprise": 400_000]
        c.stickyMillis = 600_000
        return c
    }()

    init(seed: UInt64, agentCount: Int = 12) {
        self.seed = seed
        rng = SeededRandom(seed: seed)
        var specs: [AgentSpec] = []
        for i in 0..<agentCount {
            var sk: [String: Int] = [:]
            for name in ["general", "enterprise", "english", "cantonese", "overflow"] where Int.random(in: 0..<3, using: &rng) > 0 {
                sk[name] = Int.random(in: 1...5, using: &rng)
            }
            specs.append(AgentSpec(id: "a\(i)", skills: sk, chat: Int.random(in: 0...4, using: &rng),
                                   voice: Int.random(in: 0...1, using: &rng)))
        }
        agentIDs = specs.map(\.id)
        router = Router(directory: directory(specs), config: Self.config, now: now)
        model = RouterModel(agents: Dictionary(uniqueKeysWithValues: specs.map { ($0.id, $0) }), config: Self.config)
        for id in agentIDs { model.presence[id] = .offline; model.connected[id] = false }
    }

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func pick<T>(_ xs: [T]) -> T? { xs.isEmpty ? nil : xs[int(0...xs.count - 1)] }

    /// One random operation; returns the event sent (or nil for a restart).
    mutating func randomEvent() -> RouterEvent? {
        let roll = int(0...999)
        let liveIDs = model.live.keys.sorted()
        switch roll {
        case 0..<300:
            if liveIDs.count > 48 { return pick(liveIDs).map { .sessionClosed($0, wrapUp: false) } }
            var reqs: [String: Int] = [:]
            for _ in 0..<int(0...2) { reqs[pick(skills.dropLast().map { $0 })!] = int(1...3) }
            nextSession += 1
            let waited = int(0...9) < 2 ? EpochMillis(int(0...300_000)) : 0
            return .sessionQueued(SessionRequest(
                id: "s\(nextSession)", queue: int(0...2) == 0 ? "enterprise" : "general",
                kind: int(0...6) == 0 ? .voice : .chat, priority: int(0...9), requirements: reqs,
                citizen: int(0...1) == 0 ? "c\(int(0...15))" : nil, enqueuedAt: now - waited))
        case 300..<380:
            let p: Presence = [.online, .online, .away, .offline][int(0...3)]
            return .presence(agent: pick(agentIDs)!, p)
        case 380..<410: return .disconnected(agent: pick(agentIDs)!)
        case 410..<440: return .reconnected(agent: pick(agentIDs)!)
        case 440..<600, 600..<680:
            guard let o = pick(router.pendingOffers) else { return .tick }
            let agent = int(0...30) == 0 ? pick(agentIDs)! : o.agent
            let id = int(0...50) == 0 ? o.id + 1000 : o.id
            return roll < 600 ? .offerAccepted(id, agent: agent) : .offerDeclined(id, agent: agent)
        case 680..<830:
            now += int(0...9) == 0 ? EpochMillis(int(0...200_000)) : EpochMillis(int(0...4_000))
            return .tick
        case 830..<870:
            guard let s = pick(liveIDs) else { return .tick }
            if int(0...1) == 0 { return .transfer(s, to: .agent(pick(agentIDs)!)) }
            var reqs: [String: Int] = [:]
            reqs[pick(skills.dropLast().map { $0 })!] = int(1...3)
            return .transfer(s, to: .skills(reqs, queue: int(0...1) == 0 ? nil : "enterprise"))
        case 870..<970:
            guard let s = pick(liveIDs) else { return .tick }
            return .sessionClosed(s, wrapUp: int(0...3) == 0)
        case 970..<995:
            let wrapping = liveIDs.filter { if case .wrappingUp = model.live[$0]!.state { return true }; return false }
            return pick(wrapping).map { .wrapUpDone($0) } ?? .tick
        default:
            return nil
        }
    }

    /// Applies an event's own effects to the model (those no action reports), then its actions.
    mutating func run(_ event: RouterEvent?) {
        model.context = "seed \(seed) step \(step) \(event.map { "\($0)" } ?? "restart")"
        guard let event else {
            let lost = int(0...1) == 0
            let (r, out) = Router.restore(router.snapshot(), directory: router.directory, config: router.config,
                                          now: now, connectionsLost: lost)
            router = r
            if lost { for a in agentIDs { model.connected[a] = false } }
            for a in out {
                if case .revoke(let o, .restart) = a { model.live[o.session]!.state = .limbo; continue }
                model.apply(a, now: now)
            }
            counts["restart", default: 0] += 1
            return
        }
        let out = router.handle(event, now: now)
        let rejected = out.contains { if case .rejected = $0 { return true }; return false }
        counts[rejected ? "rejected" : "\(event)".prefix(while: { $0 != "(" }).description, default: 0] += 1
        if rejected {
            if out.count != 1 { model.fail("a rejection came with other actions: \(out)") }
            return
        }
        switch event {
        case let .presence(agent, p):
            model.presence[agent] = p
            model.connected[agent] = p == .offline ? false : (p == .online ? true : model.connected[agent])
            if p == .offline { model.goneOffline(agent) }
        case .disconnected(let a): model.connected[a] = false
        case .reconnected(let a): model.connected[a] = true
        case .sessionQueued(let r):
            model.live[r.id] = .init(request: r, state: .queued)
            model.push(r.id)
        case let .offerDeclined(id, agent):
            if let (sid, _) = model.live.first(where: { $0.value.state == .offered(agent: agent, offer: id) }) {
                model.live[sid]!.excluded.insert(agent)
                model.live[sid]!.state = .limbo
            }
        case let .sessionClosed(id, wrapUp):
            if case .assigned(let a) = model.live[id]!.state, wrapUp {
                model.live[id]!.state = .wrappingUp(a)
            } else {
                model.live[id] = nil
                model.closed.insert(id)
            }
        case .wrapUpDone(let id):
            model.live[id] = nil
            model.closed.insert(id)
        case let .transfer(id, target):
            if case .skills(let reqs, let queue) = target {
                let holder: String? = { if case .assigned(let a) = model.live[id]!.state { return a }; return nil }()
                model.live[id]!.request.requirements = reqs
                model.live[id]!.request.queue = queue ?? model.live[id]!.request.queue
                model.live[id]!.request.enqueuedAt = now
                model.live[id]!.excluded = holder.map { [$0] } ?? []
            }
            model.live[id]!.state = .limbo
        case .offerAccepted, .tick: break
        }
        for a in out { model.apply(a, now: now) }
    }

    /// Router and model agree on every session ever queued; the router's self-check passes.
    mutating func compare() {
        for p in router.checkInvariants().prefix(3) { model.fail("invariant: \(p)") }
        for (id, s) in model.live {
            let expected: SessionState?
            switch s.state {
            case .queued: expected = .queued
            case let .offered(a, o): expected = .offered(agent: a, offer: o)
            case .assigned(let a): expected = .assigned(agent: a)
            case .wrappingUp(let a): expected = .wrappingUp(agent: a)
            case .limbo: model.fail("\(id) left in limbo (neither requeued nor offered)"); continue
            }
            let actual = router.state(of: id)
            if actual != expected { model.fail("\(id): router \(String(describing: actual)), model \(String(describing: expected))") }
        }
        if router.liveSessionCount != model.live.count {
            model.fail("router knows \(router.liveSessionCount) sessions, model \(model.live.count) (lost or leaked)")
        }
        for a in agentIDs where router.presence(of: a) != model.presence[a] {
            model.fail("agent \(a): router \(String(describing: router.presence(of: a))), model \(String(describing: model.presence[a]))")
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct RouterRandomTests {
    static func run(seed: UInt64, steps: Int) {
        var run = RouterRandomRun(seed: seed)
        for i in 0..<steps {
            run.step = i
            run.run(run.randomEvent())
            run.compare()
            if !run.model.failures.isEmpty { break }
        }
        #expect(run.model.failures == [], "seed \(seed): replay with RouterRandomRun(seed: \(seed))")
        let answered = run.counts["offerAccepted", default: 0] + run.counts["offerDeclined", default: 0]
        #expect(answered > steps / 20, "seed \(seed): too few offers answered to mean anything: \(run.counts)")
        #expect(run.counts["rejected", default: 0] < steps / 4, "seed \(seed): mostly rejected: \(run.counts)")
    }

    /// The long run: 100,000 operations, invariants and the model checked after each.
    @Test func hundredThousandOperations() {
        Self.run(seed: 0x1234_5678, steps: 100_000)
    }

    /// More seeds, shorter runs (they run in parallel with the long one).
    @Test(arguments: [0xC0FFEE as UInt64, 42, 7])
    func moreSeeds(seed: UInt64) {
        Self.run(seed: seed, steps: 15_000)
    }
}
