// IntakeCore/Surge: early warning of a topic suddenly rising (an outage, a flood, an epidemic):
// counts per topic in one-minute buckets over a sliding window, compared with the topic's own
// baseline. Pure and deterministic: the caller passes the time; one owner (the core thread).
//
// Rule (docs/PROTOCOL.md, "Surge detection"): a topic is spiking when, over the last
// `recentMinutes` (5), it has at least `minCount` (10) observations and at least `factor` (3)
// times its baseline, where the baseline is the mean count per `recentMinutes` over the
// `baselineMinutes` (60) before them, with a floor of `baselineFloor` (1 per window) so a topic
// that was silent does not spike on its first few mentions. A spike ends when the recent count
// drops under `factor` × baseline again (or under minCount). Nothing spikes during the first
// `baselineMinutes` after the first observation (the detector is warming up: after a restart
// every topic would look new); afterwards a topic never seen before can spike (a new problem).
public struct SurgeDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var recentMinutes = 5
        public var baselineMinutes = 60
        public var minCount = 10
        public var factor = 3.0
        public var baselineFloor = 1.0
        /// Topics tracked at most (the least recently seen is forgotten beyond it).
        public var maxTopics = 2_000
        public init() {}
    }

    /// One topic's state as the metrics and the operations page show it.
    public struct TopicView: Sendable, Equatable {
        public var topic: String
        public var recent: Int
        /// Mean count per recent window over the baseline period.
        public var baseline: Double
        public var spiking: Bool
    }

    public let settings: Settings
    private var minutes: Int { settings.recentMinutes + settings.baselineMinutes }
    /// topic → counts per minute, a ring indexed by (minute % minutes), and the minute each slot holds.
    private var counts: [String: Ring] = [:]
    /// Topics currently spiking.
    public private(set) var spiking: Set<String> = []
    /// When the detector saw its first observation: nothing spikes before it has watched for
    /// `baselineMinutes` (after a restart every topic would otherwise look new).
    public private(set) var startedAt: EpochMillis?

    struct Ring: Sendable {
        var slots: [Int32]
        var slotMinute: [Int64]
        var lastMinute: Int64
    }

    public init(settings: Settings = Settings()) {
        precondition(settings.recentMinutes > 0 && settings.baselineMinutes > 0 && settings.factor > 1 && settings.minCount > 0,
                     "BUG: surge settings out of range")
        self.settings = settings
    }

    /// Counts one observation of `topic` at `now` (Unix milliseconds).
    public mutating func observe(_ topic: String, now: EpochMillis) {
        let minute = now / 60_000
        let n = minutes
        if startedAt == nil { startedAt = now }
        if counts[topic] == nil {
            if counts.count >= settings.maxTopics, let stalest = counts.min(by: { $0.value.lastMinute < $1.value.lastMinute })?.key {
                counts[stalest] = nil
                spiking.remove(stalest)
            }
            counts[topic] = Ring(slots: Array(repeating: 0, count: n), slotMinute: Array(repeating: -1, count: n), lastMinute: minute)
        }
        counts[topic]!.add(minute: minute, size: n)
    }

    /// Re-evaluates every topic at `now`; returns the topics that started and stopped spiking.
    public mutating func evaluate(now: EpochMillis) -> (started: [String], ended: [String]) {
        var started: [String] = [], ended: [String] = []
        for topic in counts.keys.sorted() {
            let v = view(topic, now: now)!
            if v.spiking && !spiking.contains(topic) { spiking.insert(topic); started.append(topic) }
            if !v.spiking && spiking.contains(topic) { spiking.remove(topic); ended.append(topic) }
        }
        return (started, ended)
    }

    /// The state of `topic` at `now`, or nil if it was never observed (or was forgotten).
    public func view(_ topic: String, now: EpochMillis) -> TopicView? {
        guard let ring = counts[topic] else { return nil }
        let minute = now / 60_000
        var recent = 0, base = 0
        for back in 0..<minutes {
            let m = minute - Int64(back)
            let c = Int(ring.count(at: m, size: minutes))
            if back < settings.recentMinutes { recent += c } else { base += c }
        }
        let windows = Double(settings.baselineMinutes) / Double(settings.recentMinutes)
        let baseline = Double(base) / windows
        let warm = startedAt.map { now - $0 >= EpochMillis(settings.baselineMinutes) * 60_000 } ?? false
        let spiking = warm && recent >= settings.minCount && Double(recent) >= settings.factor * max(baseline, settings.baselineFloor)
        return TopicView(topic: topic, recent: recent, baseline: baseline, spiking: spiking)
    }

    /// Every tracked topic at `now`, most recent observations first.
    public func views(now: EpochMillis) -> [TopicView] {
        counts.keys.compactMap { view($0, now: now) }.sorted { ($0.recent, $1.topic) > ($1.recent, $0.topic) }
    }
}

extension SurgeDetector.Ring {
    mutating func add(minute: Int64, size: Int) {
        let i = Int(minute % Int64(size))
        if slotMinute[i] != minute {
            slotMinute[i] = minute
            slots[i] = 0
        }
        slots[i] &+= 1
        lastMinute = max(lastMinute, minute)
    }

    func count(at minute: Int64, size: Int) -> Int32 {
        let i = Int(((minute % Int64(size)) + Int64(size)) % Int64(size))
        return slotMinute[i] == minute ? slots[i] : 0
    }
}
