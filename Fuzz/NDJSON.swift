// Fuzz target `ndjson`: the raw-TCP ingest path without sockets: LineFramer, then JSON.parse,
// then Envelope.decodeIngest, then what the broker does with an accepted envelope.
//
// Input: byte 0 chooses the line limit (bit 0: 64 bytes instead of 1 MiB), byte 1 seeds the
// chunking; the rest is the stream.
// Invariants beyond "never crashes":
// - framing: whole, in random pieces and byte by byte the framer gives the same lines and the
//   same LineTooLong, and they match a plain split of the stream at "\n" (a "\r" before it
//   dropped) with the limit applied as documented;
// - an accepted envelope keeps the limits of EnvelopeLimits, and round-trips: its stored
//   JSON (`appendJSON`, byte for byte equal to `toJSON`) reads back with `decodeStored` as the
//   same envelope, and producer-side with `decodeIngest` as the same fields;
// - the broker's records for it encode and decode to themselves, and replaying them into an
//   empty state gives the state the live path built.
import IntakeCore
import IntakeJSON
import IntakeWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let maxLine = input.byte() & 1 == 1 ? 64 : 1 << 20
    let seed = UInt64(input.byte())
    let stream = input.rest()

    let expected = plainSplit(stream, maxLine: maxLine)
    for (name, pieces) in chunkings(of: stream, seed: seed) {
        var framer = LineFramer(maxLineBytes: maxLine)
        var lines: [[UInt8]] = []
        var tooLong = false
        outer: for piece in pieces {
            piece.withUnsafeBytes { framer.feed($0) }
            do {
                while let line = try framer.next() { lines.append(Array(line)) }
            } catch {
                check(error.limit == maxLine, "LineTooLong with limit \(error.limit)")
                tooLong = true
                break outer
            }
            framer.release()
        }
        check(lines == expected.lines && tooLong == expected.tooLong,
              "\(name): \(lines.count) lines, tooLong \(tooLong); expected \(expected.lines.count), \(expected.tooLong): \(show(stream))")
    }

    var state = BrokerState()
    var records: [BrokerRecord] = []
    var now: EpochMillis = 1_763_776_000_000
    for line in expected.lines where !line.isEmpty {
        guard let json = try? JSON.parse(line), let envelope = try? Envelope.decodeIngest(json) else { continue }
        checkEnvelope(envelope)
        now += Int64(line.count % 3)  // equal times now and then: the id counters must cope
        if case .accepted(_, let r) = state.ingest(envelope, now: now) { records += r }
    }
    var replayed = BrokerState()
    for r in records {
        let payload = r.encoded()
        let decoded = payload.withUnsafeBytes { try? BrokerRecord.decode(type: r.type.rawValue, payload: $0) }
        check(decoded == r, "record \(r.type) does not decode to itself")
        replayed.apply(r)
    }
    check(replayed.hasSameContents(as: state, now: now), "replaying the records does not rebuild the live state")
    return 0
}

/// The lines a reader splitting the whole stream at "\n" sees, up to the first one over the
/// limit; a final unterminated piece counts only if it is already over the limit.
private func plainSplit(_ s: [UInt8], maxLine: Int) -> (lines: [[UInt8]], tooLong: Bool) {
    var lines: [[UInt8]] = []
    var start = 0
    for (i, b) in s.enumerated() where b == 0x0A {
        var line = Array(s[start..<i])
        if line.last == 0x0D { line.removeLast() }
        if line.count > maxLine { return (lines, true) }
        lines.append(line)
        start = i + 1
    }
    // An unterminated tail ending in CR may be waiting for its LF: the CR does not count yet.
    let tail = s.count - start
    return (lines, tail > maxLine && !(tail == maxLine + 1 && s.last == 0x0D))
}

private func checkEnvelope(_ e: Envelope) {
    for (name, id) in [("account", e.account), ("channelMessageId", e.channelMessageId), ("citizen", e.citizen)] {
        check(!id.isEmpty && id.utf8.count <= EnvelopeLimits.maxIdBytes && !id.utf8.contains { $0 < 0x20 || $0 == 0x7F },
              "\(name) '\(id)' outside the envelope limits")
    }
    check(e.id.isEmpty && e.session.isEmpty && e.receivedAt == 0, "broker fields set by decodeIngest")
    check((e.text?.utf8.count ?? 0) <= EnvelopeLimits.maxTextBytes, "text over the limit")
    if e.kind == .text || e.kind == .transcript { check(!(e.text ?? "").isEmpty, "\(e.kind) without text") }
    check(e.attachments.count <= EnvelopeLimits.maxAttachments, "too many attachments")
    check((e.skills?.count ?? 0) <= EnvelopeLimits.maxSkills, "too many skills")
    check(e.skills?.allSatisfy { !$0.isEmpty && $0.utf8.count <= EnvelopeLimits.maxSkillBytes } ?? true, "bad skill")
    check(e.priority.map { (0...9).contains($0) } ?? true, "priority out of range")
    guard case .object = e.meta else { fatalError("FUZZ INVARIANT: meta is not an object") }
    check(e.dedupeKey.unicodeScalars.filter { $0 == "\u{1F}" }.count == 2, "dedupe key with more than two separators")

    // Stored form, as the broker writes it.
    var stored = e
    stored.id = "m01m80m350v0000"
    stored.session = "s01m80m350v0000"
    stored.receivedAt = 1_763_776_000_123
    var bytes: [UInt8] = []
    stored.appendJSON(to: &bytes)
    check(bytes == stored.toJSON().serializedBytes, "appendJSON differs from toJSON: \(show(bytes))")
    guard let json = try? JSON.parse(bytes) else { fatalError("FUZZ INVARIANT: stored JSON does not parse: \(show(bytes))") }
    do {
        let back = try Envelope.decodeStored(json)
        check(back == stored, "decodeStored(toJSON) differs: \(show(bytes))")
        let again = try Envelope.decodeIngest(json)
        check(again == e, "decodeIngest(toJSON) differs: \(show(bytes))")
    } catch {
        fatalError("FUZZ INVARIANT: stored envelope refused: \(error): \(show(bytes))")
    }
}
