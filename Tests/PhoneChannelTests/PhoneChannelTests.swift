// The phone channel over a recorded call (fixture lines as the call centre sends them): line
// decoding and its errors, partials replaced by finals, out-of-order segments in seq order,
// resent finals, the menu-stage text, and the envelopes (dedupe ids, meta).
import Testing
import IntakeJSON
import IntakeCore
@testable import PhoneChannel

/// A recorded call: IVR prompt, the caller's menu answer (a partial, then its final), a
/// segment that arrives before its predecessor, a resent final and a late partial, the agent.
let recordedCall = """
{"type":"call_start","callId":"c-20261122-0001","caller":"13812341234","trunk":"12345-main","startedAt":"2026-11-22T08:00:00Z","meta":{"ivrPath":"1-3"}}
{"type":"segment","callId":"c-20261122-0001","seq":1,"speaker":"ivr","text":"您好，这里是12345热线，请说出您要反映的问题","final":true,"confidence":0.99}
{"type":"segment","callId":"c-20261122-0001","seq":2,"speaker":"caller","text":"我家楼下","final":false,"confidence":0.6}
{"type":"segment","callId":"c-20261122-0001","seq":3,"speaker":"caller","text":"好像是燃气泄漏了","final":true,"confidence":0.91,"startMs":5200,"endMs":7100}
{"type":"segment","callId":"c-20261122-0001","seq":2,"speaker":"caller","text":"我家楼下有很大的气味","final":true,"confidence":0.88}
{"type":"segment","callId":"c-20261122-0001","seq":2,"speaker":"caller","text":"我家楼下有很大的气味","final":true,"confidence":0.88}
{"type":"segment","callId":"c-20261122-0001","seq":3,"speaker":"caller","text":"好像是燃气","final":false}
{"type":"segment","callId":"c-20261122-0001","seq":4,"speaker":"agent","text":"您好，请问具体地址是哪里","final":true}
{"type":"call_end","callId":"c-20261122-0001","reason":"hangup"}
"""

@Suite(.timeLimit(.minutes(5))) struct PhoneChannelTests {
    func events() throws -> [PhoneEvent] {
        try recordedCall.split(separator: "\n").map { try PhoneEvent.decode(try JSON.parse(String($0))) }
    }

    @Test func aRecordedCallBecomesOrderedFinalsAndEnvelopes() throws {
        var call: CallTranscript?
        var outcomes: [SegmentOutcome] = []
        for e in try events() {
            switch e {
            case let .callStart(id, caller, trunk, meta): call = CallTranscript(callId: id, caller: caller, trunk: trunk, meta: meta)
            case .segment(let s): outcomes.append(call!.apply(s))
            case .callEnd(_, let reason): call!.end(reason: reason)
            }
        }
        let c = try #require(call)
        #expect(outcomes.map { o -> String in
            switch o {
            case .partial: "partial"
            case .final(let e): "final \(e.channelMessageId)"
            case .repeatedFinal: "repeat"
            case .stalePartial: "stale"
            }
        } == ["final c-20261122-0001:1", "partial", "final c-20261122-0001:3", "final c-20261122-0001:2", "repeat", "stale",
              "final c-20261122-0001:4"])
        #expect(c.finals.map(\.seq) == [1, 2, 3, 4], "kept in seq order whatever the arrival order")
        #expect(c.finals[1].text == "我家楼下有很大的气味", "the partial was replaced by its final")
        #expect(c.finals[2].text == "好像是燃气泄漏了", "a late partial does not replace a final")
        #expect(c.menuStageText == "您好，这里是12345热线，请说出您要反映的问题\n我家楼下有很大的气味\n好像是燃气泄漏了")
        #expect(c.ended && c.endReason == "hangup")
    }

    @Test func envelopesCarryTheDedupeIdAndMeta() throws {
        var call = CallTranscript(callId: "c1", caller: "13812341234", trunk: "12345-main", meta: .object([("ivrPath", "1-3")]))
        guard case .final(let e) = call.apply(TranscriptSegment(callId: "c1", seq: 3, speaker: .caller, text: "燃气泄漏", final: true,
                                                                  confidence: 0.9, startMs: 10, endMs: 20)) else {
            Issue.record("a final must give an envelope"); return
        }
        #expect(e.channel == .phone && e.account == "12345-main" && e.citizen == "13812341234")
        #expect(e.channelMessageId == "c1:3" && e.kind == .transcript && e.text == "燃气泄漏")
        #expect(e.meta["speaker"]?.stringValue == "caller" && e.meta["seq"]?.intValue == 3 && e.meta["confidence"]?.doubleValue == 0.9)
        #expect(e.meta["call"]?["ivrPath"]?.stringValue == "1-3")
        // Each envelope passes the broker's own ingest validation unchanged.
        let again = try Envelope.decodeIngest(try JSON.parse(e.toJSON().serializedString))
        #expect(again.channelMessageId == e.channelMessageId && again.text == e.text)
        let start = PhoneAdapter.startEnvelope(call)
        #expect(start.kind == .event && start.channelMessageId == "c1:start" && start.meta["event"]?.stringValue == "call_start")
        call.end(reason: nil)
        #expect(PhoneAdapter.endEnvelope(call).channelMessageId == "c1:end")
        #expect(PhoneAdapter.assignmentLine(callId: "c1", session: "s1", agent: "a001", agentName: "王芳").serializedString
                == #"{"type":"assign","callId":"c1","session":"s1","agent":"a001","agentName":"王芳"}"#)
    }

    @Test(arguments: [
        (#"{"type":"segment","callId":"c","seq":-1,"speaker":"caller","text":"x","final":true}"#, "seq"),
        (#"{"type":"segment","callId":"c","seq":1,"speaker":"robot","text":"x","final":true}"#, "speaker"),
        (#"{"type":"segment","callId":"c","seq":1,"speaker":"caller","text":"x"}"#, "final"),
        (#"{"type":"segment","callId":"c","seq":1,"speaker":"caller","text":"x","final":true,"confidence":1.5}"#, "confidence"),
        (#"{"type":"segment","seq":1,"speaker":"caller","text":"x","final":true}"#, "callId"),
        (#"{"type":"call_start","callId":"c","trunk":"t"}"#, "caller"),
        (#"{"type":"call_start","callId":"c","caller":"1","trunk":"t","meta":[1]}"#, "meta"),
        (#"{"type":"hangup","callId":"c"}"#, "unknown phone line type"),
        (#"{"callId":"c"}"#, "type"),
        (#"[1,2]"#, "object"),
    ])
    func badLinesNameTheFieldAtFault(_ line: String, _ mentions: String) throws {
        #expect(throws: PhoneError.self) { try PhoneEvent.decode(try JSON.parse(line)) }
        do { _ = try PhoneEvent.decode(try JSON.parse(line)) } catch let e as PhoneError {
            #expect(e.message.contains(mentions), "\(e.message)")
        }
    }
}
