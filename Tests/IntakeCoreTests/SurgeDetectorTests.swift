// Surge detection: a topic rising well above its own baseline starts a spike and ends it when
// it falls back; steady topics, small counts and new-but-quiet topics do not; and the window
// counts match a brute-force recount over a seeded random history.
import Testing
import IntakeTestSupport
@testable import IntakeCore

@Suite(.timeLimit(.minutes(5))) struct SurgeDetectorTests {
    let t0: EpochMillis = 1_800_000_000_000 - (1_800_000_000_000 % 60_000)
    func minute(_ m: Int) -> EpochMillis { t0 + EpochMillis(m) * 60_000 }

    @Test func steadyTrafficNeverSpikes() {
        var d = SurgeDetector()
        for m in 0..<180 {
            for s in 0..<4 { d.observe("社会保险", now: minute(m) + EpochMillis(s * 1000)) }
            #expect(d.evaluate(now: minute(m) + 59_000).started.isEmpty, "minute \(m)")
        }
        let v = d.view("社会保险", now: minute(179) + 59_000)!
        #expect(v.recent == 20 && v.baseline == 20 && !v.spiking)
    }

    @Test func aRiseWellAboveTheBaselineSpikesAndEndsWhenItFalls() {
        var d = SurgeDetector()
        var started: [Int] = [], ended: [Int] = []
        for m in 0..<90 {
            let perMinute = (60..<66).contains(m) ? 8 : 1  // an outage: 8 a minute for six minutes
            for _ in 0..<perMinute { d.observe("供水", now: minute(m)) }
            let (s, e) = d.evaluate(now: minute(m) + 30_000)
            if !s.isEmpty { started.append(m) }
            if !e.isEmpty { ended.append(m) }
        }
        // baseline 5 per 5 minutes; at minute 61 the last 5 minutes hold 3 + 16 = 19 ≥ 3 × 5
        #expect(started == [61], "started \(started)")
        // after the outage the 5-minute window keeps high counts until minute 69 or so
        #expect(ended.count == 1 && ended[0] > 65 && ended[0] <= 71, "ended \(ended)")
        #expect(!d.spiking.contains("供水"))
    }

    @Test func fewMentionsOfANewTopicDoNotSpikeButManyDo() {
        var d = SurgeDetector()
        d.observe("其他", now: minute(0))  // the detector starts watching
        for i in 0..<9 { d.observe("燃气", now: minute(70) + EpochMillis(i)) }
        #expect(d.evaluate(now: minute(71)).started.isEmpty, "9 < minCount 10")
        d.observe("燃气", now: minute(71))
        #expect(d.evaluate(now: minute(71)).started == ["燃气"], "10 against a silent baseline (floor 1)")
    }

    @Test func nothingSpikesWhileWarmingUp() {
        var d = SurgeDetector()
        for i in 0..<50 { d.observe("停电", now: minute(0) + EpochMillis(i)) }
        #expect(d.evaluate(now: minute(1)).started.isEmpty, "no baseline yet: after a restart every topic looks new")
        #expect(d.view("停电", now: minute(1))!.spiking == false)
        for i in 0..<50 { d.observe("停电", now: minute(60) + EpochMillis(i)) }
        #expect(d.evaluate(now: minute(60) + 1000).started == ["停电"], "warm after baselineMinutes; 50 ≥ 3 × 50/12")
    }

    @Test func observationsOutsideTheWindowDoNotCount() {
        var d = SurgeDetector()
        for _ in 0..<50 { d.observe("x", now: minute(0)) }
        #expect(d.view("x", now: minute(4))!.recent == 50)
        #expect(d.view("x", now: minute(5))!.recent == 0)
        #expect(d.view("x", now: minute(5))!.baseline == 50.0 / 12)
        #expect(d.view("x", now: minute(65))!.recent == 0 && d.view("x", now: minute(65))!.baseline == 0)
        #expect(d.view("never", now: minute(0)) == nil)
    }

    @Test func forgetsTheStalestTopicBeyondTheLimit() {
        var s = SurgeDetector.Settings()
        s.maxTopics = 3
        var d = SurgeDetector(settings: s)
        for (i, t) in ["a", "b", "c", "d"].enumerated() { d.observe(t, now: minute(i)) }
        #expect(d.view("a", now: minute(4)) == nil)
        #expect(d.views(now: minute(4)).map(\.topic).sorted() == ["b", "c", "d"])
    }

    @Test func windowCountsMatchABruteForceRecount() {
        let seed: UInt64 = 0x5EED_5C0A
        var rng = SeededRandom(seed: seed)
        var d = SurgeDetector()
        var log: [(String, EpochMillis)] = []
        var now = minute(0)
        let topics = ["a", "b", "c", "d", "e"]
        for step in 0..<20_000 {
            now += EpochMillis(rng.next() % 4_000)  // about 30 observations a minute
            let topic = topics[Int(rng.next() % UInt64(topics.count))]
            d.observe(topic, now: now)
            log.append((topic, now))
            if step % 997 == 0 {
                let m = now / 60_000
                for t in topics {
                    let recent = log.filter { $0.0 == t && $0.1 / 60_000 > m - 5 && $0.1 / 60_000 <= m }.count
                    let base = log.filter { $0.0 == t && $0.1 / 60_000 > m - 65 && $0.1 / 60_000 <= m - 5 }.count
                    let v = d.view(t, now: now)
                    #expect((v?.recent ?? 0) == recent && (v?.baseline ?? 0) == Double(base) / 12, "seed \(seed) step \(step) topic \(t)")
                }
            }
        }
    }
}
