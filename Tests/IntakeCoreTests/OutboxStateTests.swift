// The outbox records (types 15, 16): codec round trip and truncation, apply, and the snapshot
// (version 4) carrying the pending items across a restart.
import Testing
import IntakeCore

@Suite(.timeLimit(.minutes(1)))
struct OutboxStateTests {
    let queued = OutboundQueued(id: "m00001", session: "s00001", channel: .app, account: "cityapp", citizen: "用户-42",
                                from: .agent, agentName: "王芳", text: "已派人处理", at: 1_700_000_000_123)

    @Test func recordsRoundTripAndRefuseTruncation() throws {
        let records: [BrokerRecord] = [.outboundQueued(queued),
                                       .outboundDone(OutboundDone(id: "m00001", result: .outsideWindow, attempts: 3, at: 5))]
        for r in records {
            let bytes = r.encoded()
            #expect(try bytes.withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) } == r)
            for cut in 0..<bytes.count {
                #expect(throws: BrokerCodecError.self) {
                    try Array(bytes[0..<cut]).withUnsafeBytes { try BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
                }
            }
        }
        #expect(BrokerRecordType.outboundQueued.rawValue == 15 && BrokerRecordType.outboundDone.rawValue == 16)
    }

    @Test func pendingItemsSurviveASnapshotAndLeaveWhenDone() throws {
        var s = BrokerState()
        var other = queued
        other.id = "m00002"
        other.from = .bot
        other.agentName = ""
        s.apply(.outboundQueued(queued))
        s.apply(.outboundQueued(other))
        s.apply(.outboundDone(OutboundDone(id: "m00002", result: .delivered, attempts: 1, at: 9)))
        #expect(s.outbound == ["m00001": queued])
        let back = try BrokerState.fromSnapshot(s.snapshotPayload())
        #expect(back.outbound == ["m00001": queued])
    }
}
