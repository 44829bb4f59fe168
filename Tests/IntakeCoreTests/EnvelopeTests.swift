// The Envelope codec: what decodeIngest accepts and refuses (every rule, with the field named),
// the stored form written by toJSON and read back exactly by decodeStored, and the dedupe key.
import Testing
import IntakeCore
import IntakeJSON

/// A valid ingest envelope with `changes` applied (a nil value removes the member).
func ingest(_ changes: [(String, JSON?)] = []) -> JSON {
    var members: [(String, JSON)] = [
        ("channel", "wechat"), ("account", "wx5d3c1a2b4e6f7089"), ("channelMessageId", "7281937465123"),
        ("citizen", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"), ("kind", "text"), ("text", "您好，我想咨询公积金提取"),
    ]
    for (name, value) in changes {
        members.removeAll { $0.0 == name }
        if let value { members.append((name, value)) }
    }
    return .object(members)
}

/// The error `json` is refused with at ingest, or nil.
func ingestError(_ json: JSON) -> EnvelopeError? {
    do {
        _ = try Envelope.decodeIngest(json)
        return nil
    } catch {
        return error
    }
}

@Suite(.timeLimit(.minutes(5)))
struct EnvelopeTests {
    // MARK: accepted

    @Test func minimalIngest() throws {
        let e = try Envelope.decodeIngest(ingest())
        #expect(e.channel == .wechat)
        #expect(e.account == "wx5d3c1a2b4e6f7089")
        #expect(e.channelMessageId == "7281937465123")
        #expect(e.citizen == "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
        #expect(e.kind == .text)
        #expect(e.text == "您好，我想咨询公积金提取")
        #expect(e.id == "" && e.session == "" && e.receivedAt == 0)
        #expect(e.attachments == [] && e.priority == nil && e.skills == nil)
        #expect(e.meta == .object([]))
    }

    @Test func fullIngestIgnoresBrokerAndUnknownFields() throws {
        let json = ingest([
            ("id", "forged"), ("session", "forged"), ("receivedAt", "1999-01-01T00:00:00.000Z"),
            ("attachments", [["type": "image", "url": "https://example.org/a.jpg", "mime": "image/jpeg"]]),
            ("priority", 7), ("skills", ["enterprise", "tax"]), ("meta", ["msgType": "text", "n": [1, 2]]),
            ("futureField", ["anything": true]),
        ])
        let e = try Envelope.decodeIngest(json)
        #expect(e.id == "" && e.session == "" && e.receivedAt == 0)
        #expect(e.attachments == [Attachment(type: "image", url: "https://example.org/a.jpg", mime: "image/jpeg")])
        #expect(e.priority == 7)
        #expect(e.skills == ["enterprise", "tax"])
        #expect(e.meta == ["msgType": "text", "n": [1, 2]])
    }

    @Test func nullOptionalFieldsAreAbsent() throws {
        let e = try Envelope.decodeIngest(ingest([
            ("attachments", nil as JSON), ("priority", nil as JSON), ("skills", nil as JSON), ("meta", nil as JSON),
        ]))
        #expect(e.attachments == [] && e.priority == nil && e.skills == nil && e.meta == .object([]))
        let image = try Envelope.decodeIngest(ingest([("kind", "image"), ("text", nil as JSON)]))
        #expect(image.text == nil)
    }

    @Test func textIsOptionalForOtherKinds() throws {
        for kind in MessageKind.allCases where kind != .text && kind != .transcript {
            let e = try Envelope.decodeIngest(ingest([("kind", .string(kind.rawValue)), ("text", nil)]))
            #expect(e.kind == kind && e.text == nil)
        }
        let voice = try Envelope.decodeIngest(ingest([("kind", "voice"), ("text", "识别的文字")]))
        #expect(voice.text == "识别的文字")
        let event = try Envelope.decodeIngest(ingest([("kind", "event"), ("text", "")]))
        #expect(event.text == "")
    }

    @Test func boundsAreInclusive() throws {
        // 85 three-byte characters and one ASCII byte: exactly 256 bytes.
        let id256 = String(repeating: "王", count: 85) + "a"
        #expect(try Envelope.decodeIngest(ingest([("account", .string(id256))])).account == id256)
        let text64k = String(repeating: "x", count: 64 * 1024)
        #expect(try Envelope.decodeIngest(ingest([("text", .string(text64k))])).text?.utf8.count == 65_536)
        let skills32 = JSON.array((0..<32).map { .string("s\($0)") })
        #expect(try Envelope.decodeIngest(ingest([("skills", skills32)])).skills?.count == 32)
        let one: JSON = ["type": "file", "url": "https://x/y", "mime": "application/pdf"]
        #expect(try Envelope.decodeIngest(ingest([("attachments", .array(Array(repeating: one, count: 16)))])).attachments.count == 16)
        #expect(try Envelope.decodeIngest(ingest([("priority", 0)])).priority == 0)
        #expect(try Envelope.decodeIngest(ingest([("priority", 9)])).priority == 9)
        #expect(try Envelope.decodeIngest(ingest([("priority", 5.0)])).priority == 5)
        #expect(try Envelope.decodeIngest(ingest([("skills", [])])).skills == [])
        for channel in Channel.allCases {
            #expect(try Envelope.decodeIngest(ingest([("channel", .string(channel.rawValue))])).channel == channel)
        }
    }

    // MARK: refused

    @Test func everyRuleNamesItsField() {
        let long257 = JSON.string(String(repeating: "a", count: 257))
        let attachment: JSON = ["type": "image", "url": "https://x/a.jpg", "mime": "image/jpeg"]
        let cases: [(String, JSON, String)] = [
            ("not an object", ["a", "b"], ""),
            ("channel missing", ingest([("channel", nil)]), "channel"),
            ("channel null", ingest([("channel", nil as JSON)]), "channel"),
            ("channel unknown", ingest([("channel", "sms")]), "channel"),
            ("channel not a string", ingest([("channel", 1)]), "channel"),
            ("account missing", ingest([("account", nil)]), "account"),
            ("account empty", ingest([("account", "")]), "account"),
            ("account too long", ingest([("account", long257)]), "account"),
            ("account not a string", ingest([("account", 12)]), "account"),
            ("account with U+001F", ingest([("account", "a\u{1F}b")]), "account"),
            ("account with newline", ingest([("account", "a\nb")]), "account"),
            ("channelMessageId missing", ingest([("channelMessageId", nil)]), "channelMessageId"),
            ("channelMessageId number", ingest([("channelMessageId", 7281937465123)]), "channelMessageId"),
            ("channelMessageId too long", ingest([("channelMessageId", long257)]), "channelMessageId"),
            ("citizen missing", ingest([("citizen", nil)]), "citizen"),
            ("citizen empty", ingest([("citizen", "")]), "citizen"),
            ("citizen with DEL", ingest([("citizen", "x\u{7F}")]), "citizen"),
            ("kind missing", ingest([("kind", nil)]), "kind"),
            ("kind unknown", ingest([("kind", "video")]), "kind"),
            ("kind upper case", ingest([("kind", "TEXT")]), "kind"),
            ("text missing for text", ingest([("text", nil)]), "text"),
            ("text missing for transcript", ingest([("kind", "transcript"), ("text", nil)]), "text"),
            ("text empty for text", ingest([("text", "")]), "text"),
            ("text not a string", ingest([("text", ["a"])]), "text"),
            ("text not a string for image", ingest([("kind", "image"), ("text", 5)]), "text"),
            ("text too long", ingest([("text", .string(String(repeating: "x", count: 64 * 1024 + 1)))]), "text"),
            ("attachments not an array", ingest([("attachments", attachment)]), "attachments"),
            ("17 attachments", ingest([("attachments", .array(Array(repeating: attachment, count: 17)))]), "attachments"),
            ("attachment not an object", ingest([("attachments", [attachment, "x"])]), "attachments[1]"),
            ("attachment url missing", ingest([("attachments", [["type": "image", "mime": "image/jpeg"]])]), "attachments[0].url"),
            ("attachment url not a string", ingest([("attachments", [["type": "image", "url": 1, "mime": "image/jpeg"]])]), "attachments[0].url"),
            ("attachment url too long", ingest([("attachments", [["type": "image", "url": .string(String(repeating: "u", count: 4097)), "mime": "image/jpeg"]])]), "attachments[0].url"),
            ("attachment type empty", ingest([("attachments", [["type": "", "url": "https://x", "mime": "image/jpeg"]])]), "attachments[0].type"),
            ("attachment mime missing", ingest([("attachments", [["type": "image", "url": "https://x"]])]), "attachments[0].mime"),
            ("priority 10", ingest([("priority", 10)]), "priority"),
            ("priority -1", ingest([("priority", -1)]), "priority"),
            ("priority string", ingest([("priority", "5")]), "priority"),
            ("priority fraction", ingest([("priority", 5.5)]), "priority"),
            ("priority bool", ingest([("priority", true)]), "priority"),
            ("priority huge", ingest([("priority", 1e300)]), "priority"),
            ("skills not an array", ingest([("skills", "general")]), "skills"),
            ("33 skills", ingest([("skills", .array((0..<33).map { .string("s\($0)") }))]), "skills"),
            ("skill empty", ingest([("skills", ["general", ""])]), "skills[1]"),
            ("skill not a string", ingest([("skills", [5])]), "skills[0]"),
            ("skill too long", ingest([("skills", [.string(String(repeating: "s", count: 65))])]), "skills[0]"),
            ("meta a string", ingest([("meta", "x")]), "meta"),
            ("meta an array", ingest([("meta", [])]), "meta"),
        ]
        for (name, json, field) in cases {
            let error = ingestError(json)
            #expect(error?.field == field, "\(name)")
            #expect(error?.code == "invalid_envelope", "\(name)")
            let mentionsField = field.isEmpty || (error?.message.contains("field '\(field)'") ?? false)
            #expect(mentionsField, "\(name): \(error?.message ?? "accepted")")
        }
    }

    @Test func messagesAreHumanAndStable() {
        #expect(ingestError(ingest([("priority", 10)]))?.message == "field 'priority' must be an integer from 0 to 9")
        #expect(ingestError(ingest([("citizen", nil)]))?.message == "field 'citizen' is required")
        #expect(ingestError(ingest([("channel", "sms")]))?.message == "field 'channel' must be one of web, wechat, app, phone")
        #expect(ingestError(ingest([("meta", 1)]))?.description == "field 'meta' must be an object")
        #expect(ingestError(.string("x"))?.message == "an envelope must be a JSON object")
        // Errors come in a fixed field order, whatever the member order.
        let twoFaults = JSON.object([("priority", 42), ("kind", "text"), ("text", "x"), ("citizen", "c"),
                                     ("channelMessageId", "m"), ("account", "a")])
        #expect(ingestError(twoFaults)?.field == "channel")
    }

    // MARK: stored form

    static let full = Envelope(
        id: "01JD7Q4Z8X0000000000000001", channel: .phone, account: "trunk-12345", channelMessageId: "call-9#seg-3",
        citizen: "+86 138 0000 0000", session: "s-000042", kind: .transcript, text: "市民：我家楼下路灯坏了 🙏\n坐席：好的",
        attachments: [Attachment(type: "voice", url: "https://rec.example/9.wav", mime: "audio/wav"),
                      Attachment(type: "file", url: "https://rec.example/9.txt", mime: "text/plain")],
        receivedAt: 1_795_315_485_123, priority: 9, skills: ["streetlights", "general"],
        meta: ["trunk": "12345", "confidence": 0.93, "flags": [true, nil], "nested": ["z": 1, "a": 2]])

    @Test func toJSONUsesContractNamesAndOrder() {
        let e = Envelope(id: "m1", channel: .web, account: "widget", channelMessageId: "c1", citizen: "v1",
                         session: "s1", kind: .text, text: "hi", receivedAt: 0)
        #expect(e.toJSON().serializedString == #"{"id":"m1","channel":"web","account":"widget","channelMessageId":"c1","citizen":"v1","session":"s1","kind":"text","text":"hi","attachments":[],"receivedAt":"1970-01-01T00:00:00.000Z","meta":{}}"#)
        let json = Self.full.toJSON()
        #expect(json["receivedAt"] == "2026-11-22T02:44:45.123Z")
        #expect(json["priority"] == 9)
        #expect(json["skills"] == ["streetlights", "general"])
        #expect(json["attachments"]?[1]?["mime"] == "text/plain")
        #expect(json.objectValue?.map(\.0) == ["id", "channel", "account", "channelMessageId", "citizen", "session", "kind",
                                               "text", "attachments", "receivedAt", "priority", "skills", "meta"])
    }

    @Test func storedEnvelopesRoundTripExactly() throws {
        let minimal = Envelope(id: "i", channel: .app, account: "cityapp", channelMessageId: "m", citizen: "u",
                               session: "s", kind: .image, receivedAt: -1)
        for e in [Self.full, minimal] {
            #expect(try Envelope.decodeStored(e.toJSON()) == e)
            let bytes = e.toJSON().serializedBytes
            #expect(try Envelope.decodeStored(JSON.parse(bytes)) == e)
        }
    }

    @Test func seededRandomEnvelopesRoundTrip() throws {
        var rng = SeededGenerator(seed: 0xE1E1)
        let words = ["您好", "路灯", "😀", "a\"b", "back\\slash", "tab\there", "\u{0}", "ok", "🇨🇳", "é"]
        let idWords = ["您好", "😀", "a\"b", "back\\slash", "ok", "🇨🇳", "é", "x y"]
        func word() -> String { words.randomElement(using: &rng) ?? "x" }
        func idWord() -> String { idWords.randomElement(using: &rng) ?? "x" }
        for n in 0..<500 {
            let kind = MessageKind.allCases.randomElement(using: &rng) ?? .text
            let e = Envelope(
                id: "id-\(n)", channel: Channel.allCases.randomElement(using: &rng) ?? .web, account: "acct-\(idWord())",
                channelMessageId: "m\(n)", citizen: "c-\(idWord())", session: "s\(n % 7)", kind: kind,
                text: kind == .text || kind == .transcript || Bool.random(using: &rng) ? word() + word() : nil,
                attachments: (0..<Int.random(in: 0...3, using: &rng)).map { Attachment(type: "t\($0)", url: "https://x/\(word())", mime: "m/\($0)") },
                receivedAt: EpochMillis.random(in: RFC3339.minMillis...RFC3339.maxMillis, using: &rng),
                priority: Bool.random(using: &rng) ? Int.random(in: 0...9, using: &rng) : nil,
                skills: Bool.random(using: &rng) ? (0..<Int.random(in: 0...4, using: &rng)).map { "k\($0)\(idWord())" } : nil,
                meta: .object([("w", .string(word())), ("n", .int(Int64(n))), ("d", .double(Double(n) / 8))]))
            let back = try Envelope.decodeStored(JSON.parse(e.toJSON().serializedBytes))
            #expect(back == e, "seed 0xE1E1, envelope \(n)")
            var direct: [UInt8] = []
            e.appendJSON(to: &direct)
            #expect(direct == e.toJSON().serializedBytes, "appendJSON differs from toJSON, envelope \(n)")
        }
    }

    @Test func decodeStoredRequiresBrokerFields() {
        let stored = Self.full.toJSON()
        func without(_ name: String) -> JSON {
            .object((stored.objectValue ?? []).filter { $0.0 != name })
        }
        func storedError(_ json: JSON) -> EnvelopeError? {
            do {
                _ = try Envelope.decodeStored(json)
                return nil
            } catch {
                return error
            }
        }
        #expect(storedError(without("id"))?.field == "id")
        #expect(storedError(without("session"))?.field == "session")
        #expect(storedError(without("receivedAt"))?.message == "field 'receivedAt' is required")
        var members = stored.objectValue ?? []
        for k in members.indices where members[k].0 == "receivedAt" { members[k].1 = "2026-02-30T00:00:00.000Z" }
        #expect(storedError(.object(members))?.message == "field 'receivedAt' must be an RFC 3339 date-time")
        for k in members.indices where members[k].0 == "receivedAt" { members[k].1 = .int(1_795_315_485_123) }
        #expect(storedError(.object(members))?.field == "receivedAt")
        // The stored form is also a valid ingest, minus the broker's fields.
        let again = try? Envelope.decodeIngest(stored)
        #expect(again?.id == "" && again?.text == Self.full.text && again?.meta == Self.full.meta)
    }

    // MARK: dedupe key

    @Test func dedupeKey() {
        #expect(Self.full.dedupeKey == "phone\u{1F}trunk-12345\u{1F}call-9#seg-3")
        let a = Envelope(channel: .app, account: "a", channelMessageId: "b-c", citizen: "x", kind: .event)
        let b = Envelope(channel: .app, account: "a-b", channelMessageId: "c", citizen: "x", kind: .event)
        let c = Envelope(channel: .web, account: "a", channelMessageId: "b-c", citizen: "x", kind: .event)
        #expect(a.dedupeKey != b.dedupeKey && a.dedupeKey != c.dedupeKey)
        var d = a
        d.citizen = "someone else"
        d.text = "different"
        #expect(d.dedupeKey == a.dedupeKey)
    }
}
