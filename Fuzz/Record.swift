// Fuzz target `record`: the broker's record and snapshot codecs (IntakeCore) on arbitrary
// bytes, and the state machine they feed.
//
// Input: byte 0 picks the mode.
// - below 0xF0, a record: byte 0 is the type, the rest the payload. `BrokerRecord.decode` either
//   throws or returns a record whose encoding is exactly the payload (the format is
//   canonical), with or without the envelope copy, and which `BrokerState.apply` takes.
// - 0xF0–0xF7, a snapshot payload: `BrokerState.fromSnapshot` either throws or returns a state
//   that holds only values the broker can use (priorities 0–9, counts that fit), that encodes
//   and decodes to the same contents, and whose encoding is a fixed point.
// - 0xF8–0xFF, a history: the rest is a script of broker operations (ingest messages from a
//   few citizens, assign, close, requeue) run on a live BrokerState; every record it produces
//   decodes to itself, replaying the records into an empty state rebuilds the live state, and
//   the snapshot of the live state decodes to the same contents.
import IntakeCore
import IntakeJSON

private let now: EpochMillis = 1_763_776_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecord(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let mode = input.byte()
    let rest = input.rest()
    switch mode {
    case 0..<0xF0: record(type: mode, payload: rest)
    case 0xF0..<0xF8: snapshot(rest)
    default: history(rest)
    }
    return 0
}

private func record(type: UInt8, payload: [UInt8]) {
    let decoded = payload.withUnsafeBytes { p in Result { () throws(BrokerCodecError) in try BrokerRecord.decode(type: type, payload: p) } }
    let light = payload.withUnsafeBytes { try? BrokerRecord.decode(type: type, payload: $0, keepEnvelope: false) }
    guard case .success(let r) = decoded else {
        check(light == nil, "type \(type) refused with the envelope and accepted without it")
        return
    }
    check(light != nil, "type \(type) accepted with the envelope and refused without it")
    check(r.type.rawValue == type, "decoded type \(r.type) from type byte \(type)")
    // Older record formats are read and written back in the current one: the invariant is that
    // what is written back reads as the same record (and, in the current format, is the same bytes).
    let again = r.encoded()
    let reread = again.withUnsafeBytes { try? BrokerRecord.decode(type: type, payload: $0) }
    check(reread == r, "record type \(type) does not read back as itself after re-encoding: \(show(payload))")
    check(again.withUnsafeBytes { p in (try? BrokerRecord.decode(type: type, payload: p))?.encoded() } == again,
          "record type \(type): the current format is not stable: \(show(again))")
    var state = BrokerState()
    state.apply(r)
    state.apply(r)  // replay may see a record twice after a damaged history; it must not trap
    roundTripSnapshot(of: state, what: "state after one record")
}

private func snapshot(_ payload: [UInt8]) {
    guard var state = try? BrokerState.fromSnapshot(payload) else { return }
    check(state.messageCount >= 0, "negative message count \(state.messageCount)")
    for s in state.sessions.values { check(s.messages >= 0, "session \(s.id) with \(s.messages) messages") }
    // Two sessions of one owner cannot come from a broker (a citizen's second session opens
    // only after the first closed); which one a restore makes the open one is then arbitrary,
    // so such a state is not compared.
    let owners = state.sessions.values.map { BrokerState.ownerKey(channel: $0.channel, account: $0.account, citizen: $0.citizen) }
    if Set(owners).count == owners.count { roundTripSnapshot(of: state, what: "decoded snapshot") }

    // What the broker does with a restored state: every assignment may go back to its queue
    // (its agent does not return within the grace period), and messages arrive. Neither may
    // trap on a value the snapshot held.
    for (session, a) in state.assignments.sorted(by: { $0.key < $1.key }) {
        state.apply(.enqueued(Enqueued(session: session, queue: a.queue, priority: a.priority, enqueuedAt: a.enqueuedAt)))
    }
    for channel in Channel.allCases {
        _ = state.ingest(Envelope(channel: channel, account: "a", channelMessageId: "m", citizen: "c", kind: .text, text: "hi"), now: now)
    }
}

private func roundTripSnapshot(of state: BrokerState, what: String) {
    let bytes = state.snapshotPayload()
    let back: BrokerState
    do {
        back = try BrokerState.fromSnapshot(bytes)
    } catch {
        fatalError("FUZZ INVARIANT: snapshot of the \(what) does not decode: \(error)")
    }
    check(back.hasSameContents(as: state, now: now), "snapshot of the \(what) decodes to other contents")
    check(back.hasSameContents(as: state, now: now + 3_600_000), "snapshot of the \(what) changes the service order later")
    check((try? BrokerState.fromSnapshot(back.snapshotPayload()))?.hasSameContents(as: back, now: now) == true,
          "snapshot encoding of the \(what) is not a fixed point")
}

/// Runs a script of operations the core thread performs. Per step, byte a: low 2 bits the
/// operation (ingest, assign, close, requeue), the rest picks the citizen, session or agent;
/// byte b: time step and priority.
private func history(_ script: [UInt8]) {
    var input = FuzzInput(script)
    var state = BrokerState()
    var records: [BrokerRecord] = []
    var clock = now
    var messageNumber = 0
    var offerID: UInt64 = 0
    while !input.isAtEnd && records.count < 400 {
        let a = input.byte(), b = input.byte()
        clock += Int64(b >> 4) * 97_000  // up to ~25 min per step, so waits cross the starvation limit
        let sessions = state.sessions.keys.sorted()
        func pick(_ list: [String]) -> String? { list.isEmpty ? nil : list[Int(a >> 2) % list.count] }
        var produced: [BrokerRecord] = []
        switch a & 3 {
        case 0:
            messageNumber += 1
            let channel = Channel.allCases[Int(a >> 2) % Channel.allCases.count]
            let envelope = Envelope(channel: channel, account: "acct\(a >> 6)", channelMessageId: "cm\(messageNumber % 40)",
                                    citizen: "c\((a >> 2) % 5)", kind: .text, text: "msg \(messageNumber)",
                                    priority: b & 8 == 0 ? nil : Int(b & 7) + 2, skills: b & 1 == 0 ? nil : ["q\(b & 6)"])
            if case .accepted(_, let r) = state.ingest(envelope, now: clock) { records += r }
            continue
        case 1:
            guard let s = pick(state.queues.queueNames.flatMap { state.queues[queue: $0]!.ordered(now: clock).map(\.id) }) else { continue }
            offerID += 1
            produced = [.offered(Offered(session: s, agent: "a\(b & 3)", offer: offerID)), .assigned(Assigned(session: s, agent: "a\(b & 3)"))]
        case 2:
            guard let s = pick(sessions) else { continue }
            produced = [.closed(Closed(session: s, agent: state.assignments[s]?.agent ?? "", disposition: b & 1 == 0 ? "" : "resolved ✓"))]
        default:
            guard let s = pick(state.assignments.keys.sorted()), let held = state.assignments[s] else { continue }
            produced = [.enqueued(Enqueued(session: s, queue: held.queue, priority: held.priority, enqueuedAt: held.enqueuedAt))]
        }
        for r in produced { state.apply(r) }
        records += produced
    }
    var replayed = BrokerState()
    for r in records {
        let payload = r.encoded()
        let decoded = payload.withUnsafeBytes { try? BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
        check(decoded == r, "record \(r.type) does not decode to itself")
        replayed.apply(r)
    }
    check(replayed.hasSameContents(as: state, now: clock), "replaying \(records.count) records does not rebuild the live state")
    roundTripSnapshot(of: state, what: "live state")
    // A snapshot taken halfway plus the records after it gives the same state too.
    let half = records.count / 2
    var partial = BrokerState()
    for r in records[..<half] { partial.apply(r) }
    guard var restored = try? BrokerState.fromSnapshot(partial.snapshotPayload()) else {
        fatalError("FUZZ INVARIANT: a snapshot taken halfway does not decode")
    }
    for r in records[half...] { restored.apply(r) }
    check(restored.hasSameContents(as: state, now: clock), "snapshot + the records after it differ from the live state")
}
