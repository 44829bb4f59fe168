// Fuzz target `wechat-crypto`: the safe-mode callback of a WeChat Official Account
// (WeChatEndpoint.handle: signatures, WXBizMsgCrypt decryption, inner XML, normalisation) with
// a fixed account (the key, token and AppID of Tests/WeChatChannelTests/Fixtures/vectors.json).
//
// Input: byte 0 picks the mode, byte 1 seeds the random prefix and nonces; the rest is:
//   0 frame     the plaintext *frame* (random ‖ length ‖ message ‖ AppID ‖ padding), zero-filled
//               to whole 32-byte blocks, AES-encrypted raw and correctly signed: every check of
//               the decryption meets hostile bytes that passed the signature. A plain model of
//               the official algorithm predicts accept or refuse, and the message.
//   1 message   the inner XML, encrypted as WeChat does and signed: decode, normalise, reply.
//   2 encrypt   the `Encrypt` text itself (garbage base64, lengths), correctly signed: refused.
//   3 body      the whole POST body, with msg_signature computed over whatever `Encrypt` the
//               reader finds: outer XML and everything after it.
//   4 query     the query parameters (NUL-separated values) against a valid body: unsigned
//               requests are refused.
// Invariants: nothing but a correctly signed, correctly framed message for this AppID is ever
// accepted; an accepted message normalises to an Envelope `decodeIngest` takes unchanged; the
// encrypted passive reply carries a valid msg_signature and decrypts to a reply for the sender.
import IntakeCore
import IntakeCrypto
import IntakeJSON
import WeChatChannel

private let token = "Hotline12345Token"
private let appId = "wx5d3c1a2b4e6f7089"
private let key = try! WeChatAESKey(encodingAESKey: "hJqPq3Lw8uVd2Yk9Rz5Tb7Nc4Mf6Gs1Ha0Xe2Wi3UoQ")
private let account = WeChatAccountConfig(name: "main", appId: appId, token: token, aesKey: key, mode: .safe, clockSkewSeconds: 0)
private let endpoint = WeChatEndpoint(account: account)
private let cipher = WeChatCipher(key: key, receiveId: appId)
private let now: Int64 = 1_700_000_000
private let sampleMessage = Array("<xml><ToUserName><![CDATA[gh_12345hotline]]></ToUserName><FromUserName><![CDATA[oHot5t0aB1cD2eF3gH4iJ5kL6mN7]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>24500000000000001</MsgId></xml>".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeChatCrypto(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let mode = input.byte() % 5
    var rng = FuzzRandom(seed: UInt64(input.byte()))
    let rest = input.rest()
    switch mode {
    case 0: frameMode(rest)
    case 1: messageMode(rest, rng: &rng)
    case 2: encryptMode(String(decoding: rest, as: UTF8.self))
    case 3: bodyMode(rest)
    default: queryMode(rest, rng: &rng)
    }
    return 0
}

// MARK: modes

private func frameMode(_ bytes: [UInt8]) {
    var frame = bytes.isEmpty ? [0] : bytes
    frame += [UInt8](repeating: 0, count: (32 - frame.count % 32) % 32)
    guard let ciphertext = try? AESCBC.encrypt(key: key.bytes, iv: key.iv, plaintext: frame) else {
        fatalError("AES refused a block-aligned frame")
    }
    compare(officialDecrypt(frame), post(encrypt: Base64.encode(ciphertext)), frame)
}

/// Any `Encrypt` text: garbage (bad base64, lengths, padding, AppID) is refused, and what the
/// official algorithm accepts (the seeds hold real ones) is accepted, or refused only for its
/// content.
private func encryptMode(_ encrypt: String) {
    let outcome = post(encrypt: encrypt)
    // What the reader hands the endpoint after the writer dropped what XML cannot carry. (A
    // document the writer broke, the known "]]\u{1}>" issue of wechat-xml, is refused as XML.)
    guard let document = try? XML.parse(envelopeXML(encrypt)) else {
        guard case .rejected(let e) = outcome, e.code == .badXML else { fatalError("FUZZ INVARIANT: a broken document gave \(outcome)") }
        return
    }
    let seen = document.childText("Encrypt") ?? ""
    guard !seen.isEmpty else {
        guard case .rejected(let e) = outcome, e.code == .badMessage else { fatalError("FUZZ INVARIANT: an empty Encrypt gave \(outcome)") }
        return
    }
    guard let ciphertext = base64Decode(seen), ciphertext.count >= 32, ciphertext.count % 32 == 0,
          let frame = try? AESCBC.decrypt(key: key.bytes, iv: key.iv, ciphertext: ciphertext) else {
        guard case .rejected(let e) = outcome, e.code == .badCiphertext else {
            fatalError("FUZZ INVARIANT: Encrypt that is not base64 of whole 32-byte blocks gave \(outcome): \(seen)")
        }
        return
    }
    compare(officialDecrypt(frame), outcome, frame)
}

/// Standard base64 with padding, strictly (RFC 4648 §4), written here rather than taken from
/// IntakeCrypto.
private func base64Decode(_ text: String) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var value: [UInt8: UInt32] = [:]
    for (i, c) in alphabet.enumerated() { value[c] = UInt32(i) }
    let chars = Array(text.utf8)
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    for q in stride(from: 0, to: chars.count, by: 4) {
        let group = chars[q..<(q + 4)]
        let pads = group.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard pads <= 2, q + 4 == chars.count || pads == 0 else { return nil }
        var n: UInt32 = 0
        for c in group.prefix(4 - pads) {
            guard let v = value[c] else { return nil }
            n = n << 6 | v
        }
        n <<= 6 * UInt32(pads)
        let bytes = [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)].prefix(3 - pads)
        // Non-canonical padding bits (e.g. "QR==") are accepted by most decoders; keep them.
        out += bytes
    }
    return out
}

private func compare(_ official: Official, _ outcome: WeChatOutcome, _ frame: [UInt8]) {
    switch (official, outcome) {
    case (.refused(let wrongId), .rejected(let e)):
        check(e.code == (wrongId ? .wrongAppId : .badCiphertext), "bad frame refused as \(e), expected \(wrongId ? "wrong_appid" : "bad_ciphertext")")
    case (.refused, _):
        fatalError("FUZZ INVARIANT: a frame the official algorithm refuses was accepted: \(show(frame))")
    case (.message(let m), .message(let inbound)):
        check((try? WeChatMessage.decode(xml: m))?.channelMessageId == inbound.message.channelMessageId, "decrypted message differs")
        checkAccepted(inbound)
    case (.message(let m), .rejected(let e)):
        check(e.code == .badXML || e.code == .badMessage, "a well-framed message refused as \(e): \(show(m))")
        check((try? WeChatMessage.decode(xml: m)) == nil || e.code == .badMessage, "decodable message refused: \(e)")
    case (_, .verified):
        fatalError("FUZZ INVARIANT: a POST answered as a URL check")
    }
}

private func messageMode(_ xml: [UInt8], rng: inout FuzzRandom) {
    let encrypt = cipher.encrypt(xml, random: (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    let direct = Result { () throws(WeChatError) in try WeChatMessage.decode(xml: xml) }
    switch post(encrypt: encrypt) {
    case .message(let inbound):
        guard case .success(let m) = direct else { fatalError("FUZZ INVARIANT: endpoint accepted what decode refuses") }
        check(m.channelMessageId == inbound.message.channelMessageId, "endpoint and decode disagree on the message")
        checkAccepted(inbound)
    case .rejected(let e):
        // Refused after decryption: the XML, the message or its normalisation.
        check([.badXML, .badMessage].contains(e.code), "a correctly encrypted message refused as \(e)")
        if case .success(let m) = direct { check((try? m.envelope(appId: appId, accountName: "main")) == nil, "decodable message refused: \(e)") }
    case .verified:
        fatalError("FUZZ INVARIANT: a POST answered as a URL check")
    }
}

private func bodyMode(_ body: [UInt8]) {
    let encrypt = (try? XML.parse(body, limits: WeChatMessage.xmlLimits))?.childText("Encrypt") ?? ""
    let outcome = endpoint.handle(method: "POST", query: signedQuery(encrypt: encrypt), body: body, now: now)
    if case .message(let inbound) = outcome {
        // Only a real frame for this AppID gets here (the seeds hold some).
        check((try? cipher.decrypt(encrypt)) != nil, "accepted a body whose Encrypt does not decrypt")
        checkAccepted(inbound)
    }
}

private func queryMode(_ bytes: [UInt8], rng: inout FuzzRandom) {
    let names = ["signature", "timestamp", "nonce", "msg_signature", "encrypt_type", "echostr"]
    let values = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    var query: [String: String] = [:]
    for (k, v) in zip(names, values) where !v.isEmpty { query[k] = v }
    let method = values.count > names.count && values[names.count] == "GET" ? "GET" : "POST"
    let encrypt = cipher.encrypt(sampleMessage, random: (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    let outcome = endpoint.handle(method: method, query: query, body: envelopeXML(encrypt), now: now)
    let signed = query["signature"] == sha1Hex([token, query["timestamp"] ?? "", query["nonce"] ?? ""])
    switch outcome {
    case .verified(let r):
        check(signed && method == "GET", "URL check passed without a valid signature")
        check(r.body == Array((query["echostr"] ?? "").utf8), "echostr not echoed unchanged")
    case .message:
        let msgSigned = query["msg_signature"] == sha1Hex([token, query["timestamp"] ?? "", query["nonce"] ?? "", encrypt])
        check(signed && msgSigned && method == "POST", "message accepted without valid signatures")
    case .rejected:
        break
    }
}

// MARK: helpers

private func post(encrypt: String) -> WeChatOutcome {
    endpoint.handle(method: "POST", query: signedQuery(encrypt: encrypt), body: envelopeXML(encrypt), now: now)
}

/// The outer document of safe mode. `Encrypt` goes through the reply writer's CDATA, which
/// drops what XML cannot carry: the signature is computed over what the reader will see.
private func envelopeXML(_ encrypt: String) -> [UInt8] {
    var w = XMLWriter()
    w.open("xml")
    w.cdataElement("ToUserName", "gh_12345hotline")
    w.cdataElement("Encrypt", encrypt)
    w.close("xml")
    return w.bytes
}

private func signedQuery(encrypt: String) -> [String: String] {
    // Sign exactly what the endpoint will read back out of the document.
    let seen = (try? XML.parse(envelopeXML(encrypt)))?.childText("Encrypt") ?? encrypt
    let timestamp = String(now), nonce = "1234567890"
    return ["signature": sha1Hex([token, timestamp, nonce]), "timestamp": timestamp, "nonce": nonce,
            "encrypt_type": "aes", "msg_signature": sha1Hex([token, timestamp, nonce, seen])]
}

/// SHA-1 over the byte-wise sorted parts, lower-case hex: the official signature, computed
/// here without WeChatSignature.
private func sha1Hex(_ parts: [String]) -> String {
    let sorted = parts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    return Digest.sha1(sorted.flatMap { $0 }).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

private enum Official { case refused(wrongAppId: Bool), message([UInt8]) }

/// WXBizMsgCrypt's decryption checks on a plaintext frame, written out plainly.
private func officialDecrypt(_ frame: [UInt8]) -> Official {
    let pad = Int(frame.last!)
    guard (1...32).contains(pad), frame.suffix(pad).allSatisfy({ Int($0) == pad }) else { return .refused(wrongAppId: false) }
    let body = frame.count - pad
    guard body > 20 else { return .refused(wrongAppId: false) }
    let declared = frame[16..<20].reduce(0) { $0 << 8 | Int($1) }
    guard declared <= body - 20 else { return .refused(wrongAppId: false) }
    guard Array(frame[(20 + declared)..<body]) == Array(appId.utf8) else { return .refused(wrongAppId: true) }
    return .message(Array(frame[20..<(20 + declared)]))
}

/// An accepted message: its envelope is storable as is, and the encrypted reply checks out.
private func checkAccepted(_ inbound: WeChatInbound) {
    check(inbound.wasEncrypted, "a safe-mode message not marked encrypted")
    check(inbound.envelope.channel == .wechat && inbound.envelope.account == appId, "envelope channel or account")
    do {
        let back = try Envelope.decodeIngest(inbound.envelope.toJSON())
        check(back == inbound.envelope, "decodeIngest changed the envelope")
    } catch {
        fatalError("FUZZ INVARIANT: an accepted message's envelope is refused by decodeIngest: \(error)")
    }
    guard let reply = try? inbound.replier.text("已收到", now: now, nonce: "987654321", random: [UInt8](repeating: 7, count: 16)) else {
        fatalError("FUZZ INVARIANT: no passive reply for an accepted message")
    }
    guard let outer = try? XML.parse(reply.body), let encrypt = outer.childText("Encrypt"),
          let signature = outer.childText("MsgSignature"), let timestamp = outer.childText("TimeStamp"),
          let nonce = outer.childText("Nonce") else {
        fatalError("FUZZ INVARIANT: the encrypted reply is not the documented envelope: \(show(reply.body, limit: 400))")
    }
    check(signature == sha1Hex([token, timestamp, nonce, encrypt]), "reply msg_signature does not verify")
    guard let plain = try? cipher.decrypt(encrypt), let xml = try? XML.parse(plain) else {
        fatalError("FUZZ INVARIANT: the reply does not decrypt to XML")
    }
    check(xml.childText("ToUserName") == inbound.message.fromUserName, "reply not addressed to the sender")
    check(xml.childText("Content") == "已收到", "reply content changed")
}
