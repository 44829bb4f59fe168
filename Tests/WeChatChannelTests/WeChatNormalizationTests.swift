// Normalisation of every message type of the fixtures to the Envelope: kind, text,
// attachments, meta, the dedupe id; and every envelope passes the broker's own ingest checks.
import Testing
import IntakeCore
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatNormalizationTests {
    static let o = Fixtures.openId

    /// name → (kind, text, attachments as "type url mime", channelMessageId)
    static let expected: [String: (MessageKind, String?, [String], String)] = [
        "text_ascii": (.text, "Hello 12345, my street light is broken.", [], "\(o):7341234567890123456"),
        "text_chinese": (.text, "你好，我要投诉小区噪音扰民问题，地址：幸福路88号。", [], "\(o):7341234567890123456"),
        "text_empty": (.event, nil, [], "\(o):7341234567890123456"),
        "text_cdata_terminator_split": (.text, "x]]>y", [], "\(o):7341234567890123456"),
        "text_multiline_crlf": (.text, "line1\nline2\nline3", [], "\(o):7341234567890123456"),
        "image": (.image, nil, ["image http://mmbiz.qpic.cn/mmbiz_jpg/abc/0 image/*"], "\(o):7341234567890123457"),
        "voice": (.voice, nil, ["voice wechat-media:media_id_voice_001 audio/amr"], "\(o):7341234567890123458"),
        "voice_with_recognition": (.voice, "我家门口的路灯坏了", ["voice wechat-media:media_id_voice_002 audio/amr"], "\(o):7341234567890123459"),
        "video": (.image, nil, ["video wechat-media:media_id_video_001 video/mp4", "thumbnail wechat-media:thumb_media_id_001 image/*"],
                  "\(o):7341234567890123460"),
        "location": (.location, "广州市天河区幸福路88号", [], "\(o):7341234567890123461"),
        "link": (.text, "积水照片\n幸福路积水严重\nhttps://example.com/a?b=1&c=2", [], "\(o):7341234567890123462"),
        "event_subscribe": (.event, nil, [], "\(o):1700000007:subscribe"),
        "event_subscribe_qrscene": (.event, nil, [], "\(o):1700000008:subscribe:qrscene_123123"),
        "event_unsubscribe": (.event, nil, [], "\(o):1700000009:unsubscribe"),
        "event_click": (.event, nil, [], "\(o):1700000010:CLICK:MENU_REPORT_ISSUE"),
        "event_view": (.event, nil, [], "\(o):1700000011:VIEW:https://example.com/hotline"),
        "event_scan": (.event, nil, [], "\(o):1700000012:SCAN:123123"),
        "event_location": (.event, nil, [], "\(o):1700000013:LOCATION"),
    ]

    @Test func everyFixtureMessageType() throws {
        let cases = try Fixtures.vectors().array("oa_safe_mode_inbound")
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.appId)
        var checked = 0
        for c in cases {
            let name = try c.string("name")
            let message = try WeChatMessage.decode(xml: try cipher.decrypt(try c.string("encrypt")))
            let envelope = try message.envelope(appId: Fixtures.appId, accountName: "main")
            #expect(envelope.channel == .wechat && envelope.account == Fixtures.appId && envelope.citizen == Fixtures.openId, "\(name)")
            #expect(envelope.id.isEmpty && envelope.session.isEmpty && envelope.receivedAt == 0 && envelope.priority == nil)
            // What the broker's ingest would accept, unchanged.
            #expect(try Envelope.decodeIngest(envelope.toJSON()) == envelope, "\(name)")
            // meta: the fields as written, minus the sender and the text.
            let fields = try c["expected_parse"]!.stringMap("fields")
            for (k, v) in fields where !["FromUserName", "Content", "Recognition"].contains(k) {
                #expect(envelope.meta[k]?.stringValue == v, "\(name).meta.\(k)")
            }
            #expect(envelope.meta["FromUserName"] == nil && envelope.meta["Content"] == nil)
            #expect(envelope.meta["accountName"]?.stringValue == "main")
            guard let want = Self.expected[name] else {
                // The remaining text vectors (emoji, 4 KB, specials, padding): text as sent.
                #expect(envelope.kind == .text && envelope.text == fields["Content"], "\(name)")
                continue
            }
            checked += 1
            let (kind, text, attachments, id) = want
            #expect(envelope.kind == kind, "\(name)")
            #expect(envelope.text == text, "\(name)")
            #expect(envelope.attachments.map { "\($0.type) \($0.url) \($0.mime)" } == attachments, "\(name)")
            #expect(envelope.channelMessageId == id, "\(name)")
        }
        #expect(checked == Self.expected.count)
    }

    static func xml(_ inner: String, type: String, create: String = "1700000000") -> [UInt8] {
        Array(("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[\(o)]]></FromUserName>"
            + "<CreateTime>\(create)</CreateTime><MsgType><![CDATA[\(type)]]></MsgType>\(inner)</xml>").utf8)
    }

    @Test func shortVideoUnknownTypesAndNewFields() throws {
        let short = try WeChatMessage.decode(xml: Self.xml("<MediaId>m1</MediaId><ThumbMediaId>t1</ThumbMediaId><MsgId>42</MsgId>", type: "shortvideo"))
        #expect(short.body == .video(mediaId: "m1", thumbMediaId: "t1", short: true))
        let e = try short.envelope(appId: Fixtures.appId, accountName: "main")
        #expect(e.kind == .image && e.meta["MsgType"]?.stringValue == "shortvideo" && e.attachments.count == 2)

        // A type this adapter does not know is kept (as an event), not refused: refusing would
        // make WeChat retry and show the citizen an error.
        let mini = try WeChatMessage.decode(xml: Self.xml("<Title>t</Title><AppId>wxapp</AppId><MsgId>43</MsgId>", type: "miniprogrampage"))
        #expect(mini.body == .unsupported)
        let me = try mini.envelope(appId: Fixtures.appId, accountName: "main")
        #expect(me.kind == .event && me.meta["MsgType"]?.stringValue == "miniprogrampage" && me.meta["AppId"] == nil)
        #expect(me.channelMessageId == "\(Self.o):43")

        // Fields WeChat added later (MsgDataId, Idx) are kept; unknown ones ignored.
        let text = try WeChatMessage.decode(xml: Self.xml("<Content>hi</Content><MsgId>44</MsgId><MsgDataId>9</MsgDataId><Idx>1</Idx><Future><x>1</x></Future>", type: "text"))
        let te = try text.envelope(appId: Fixtures.appId, accountName: "main")
        #expect(te.meta["MsgDataId"]?.stringValue == "9" && te.meta["Idx"]?.stringValue == "1" && te.meta["Future"] == nil)

        // Without MsgId, a non-event message is keyed by sender, time and type.
        let noId = try WeChatMessage.decode(xml: Self.xml("<Content>hi</Content>", type: "text"))
        #expect(noId.channelMessageId == "\(Self.o):1700000000:text")
    }

    @Test func eventsCompareCaseInsensitively() throws {
        for (name, kind) in [("CLICK", WeChatEvent.Kind.click), ("click", .click), ("Subscribe", .subscribe), ("LOCATION", .location),
                             ("view_miniprogram", .other), ("other", .other)] {
            #expect(WeChatEvent(name: name).kind == kind, "\(name)")
        }
    }

    @Test func longEventKeysAreHashedIntoTheId() throws {
        let url = "https://example.com/" + String(repeating: "p", count: 300)
        let m = try WeChatMessage.decode(xml: Self.xml("<Event>VIEW</Event><EventKey><![CDATA[\(url)]]></EventKey>", type: "event"))
        let id = m.channelMessageId
        #expect(id.hasPrefix("\(Self.o):1700000000:VIEW:sha1:") && id.utf8.count <= EnvelopeLimits.maxIdBytes)
        let e = try m.envelope(appId: Fixtures.appId, accountName: "main")
        #expect(e.meta["EventKey"]?.stringValue == url)
        #expect(try Envelope.decodeIngest(e.toJSON()) == e)
    }

    @Test func oversizedTextIsCutOnACharacter() throws {
        let long = String(repeating: "市", count: EnvelopeLimits.maxTextBytes / 3 + 10)
        let m = try WeChatMessage.decode(xml: Self.xml("<Content>\(long)</Content><MsgId>1</MsgId>", type: "text"))
        let e = try m.envelope(appId: Fixtures.appId, accountName: "main")
        #expect(e.text!.utf8.count <= EnvelopeLimits.maxTextBytes && e.text!.allSatisfy { $0 == "市" })
        #expect(e.meta["truncated"] == .bool(true))
        #expect(try Envelope.decodeIngest(e.toJSON()) == e)
    }

    @Test func badMessagesAreRefused() throws {
        func code(_ bytes: [UInt8]) -> WeChatError.Code? {
            do { _ = try WeChatMessage.decode(xml: bytes).envelope(appId: Fixtures.appId, accountName: "main"); return nil } catch { return error.code }
        }
        #expect(code(Array("<yml><MsgType>text</MsgType></yml>".utf8)) == .badMessage)
        #expect(code(Array("<xml><MsgType>text</MsgType>".utf8)) == .badXML)
        #expect(code(Array("<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>".utf8)) == .badMessage)
        #expect(code(Self.xml("", type: "text", create: "1.5e9")) == .badMessage)
        #expect(code(Self.xml("", type: "text", create: "17000000000000000000")) == .badMessage)
        #expect(code(Self.xml("<MsgId>-1</MsgId>", type: "text")) == .badMessage)
        #expect(code(Self.xml("<MsgId>99999999999999999999</MsgId>", type: "text")) == .badMessage)
        #expect(code(Self.xml("", type: "event")) == .badMessage)  // an event without Event
        let longSender = Array(("<xml><ToUserName>a</ToUserName><FromUserName>" + String(repeating: "o", count: 300)
            + "</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>").utf8)
        #expect(code(longSender) == .badMessage)
        // MsgId beyond 2^53 survives exactly.
        let big = try WeChatMessage.decode(xml: Self.xml("<Content>x</Content><MsgId>18446744073709551615</MsgId>", type: "text"))
        #expect(big.msgId == "18446744073709551615")
    }
}
