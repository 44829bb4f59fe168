// Every vector of vectors.json (made with wechatpy, an independent implementation): keys,
// signatures, URL checks, decryption of every inbound message, byte-for-byte encryption of
// every reply, the Tencent and wechatpy known answers, the negative and edge cases.
import Foundation
import Testing
import IntakeCrypto
import IntakeJSON
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatVectorTests {
    @Test func theFixtureIsTheSharedFile() throws {
        let ours = FileManager.default.contents(atPath: Fixtures.vectorsPath)
        #expect(ours.map { Digest.hex(Digest.sha256([UInt8]($0))) } == "f36c46f7bab501a8fedd7c19a1537406d4943f536a307700fe68b74fbf675772")
        // When the shared folder is beside the clone (CI, developer machines), the copy must
        // not have drifted from it; a clone on its own still runs every other test.
        if let shared = FileManager.default.contents(atPath: Fixtures.sharedVectorsPath) {
            #expect(shared == ours, "Tests/WeChatChannelTests/Fixtures/vectors.json differs from \(Fixtures.sharedVectorsPath): copy it again")
        }
    }

    @Test func keyDerivation() throws {
        let v = try Fixtures.vectors()
        let config = v["config"]!
        let key = try WeChatAESKey(encodingAESKey: try config.string("encoding_aes_key"))
        #expect(Digest.hex(key.bytes) == (try config.string("aes_key_hex")))
        #expect(Digest.hex(key.iv) == (try config.string("iv_hex")))
        // The official sample key's last character has non-zero discarded bits.
        let odd = config["noncanonical_key_example"]!
        let oddKey = try WeChatAESKey(encodingAESKey: try odd.string("encoding_aes_key"))
        #expect(Digest.hex(oddKey.bytes) == (try odd.string("aes_key_hex")))
        #expect(!String(describing: key).contains(Digest.hex(key.bytes)))
    }

    @Test func plainSignaturesAndURLChecks() throws {
        let cases = try Fixtures.vectors().array("plain_signature")
        #expect(cases.count == 5)
        for c in cases {
            let token = try c.string("token"), ts = try c.string("timestamp"), nonce = try c.string("nonce")
            #expect(WeChatSignature.plain(token: token, timestamp: ts, nonce: nonce) == (try c.string("signature")), "\(token)")
            #expect(try c.array("sorted").compactMap(\.stringValue).joined() == (try c.string("concatenated")))
            // The GET URL check through the endpoint, in every mode: echostr back unchanged.
            let request = c["verify_request"]!
            for mode in WeChatAccountConfig.Mode.allCases {
                let account = WeChatAccountConfig(name: "t", appId: Fixtures.appId, token: token, aesKey: try Fixtures.key(),
                                                  mode: mode, clockSkewSeconds: 0)
                let outcome = WeChatEndpoint(account: account).handle(method: "GET", query: Fixtures.query(try request.string("query_string")),
                                                                      body: [], now: 0)
                let response = try #require(outcome.verifiedResponse, "\(token) \(mode): \(String(describing: outcome.error))")
                #expect(response.status == 200)
                #expect(response.bodyText == (try request.string("expected_body")))
            }
        }
    }

    @Test func everySafeModeMessageDecrypts() throws {
        let cases = try Fixtures.vectors().array("oa_safe_mode_inbound")
        #expect(cases.count == 24)
        let key = try Fixtures.key()
        let cipher = WeChatCipher(key: key, receiveId: Fixtures.appId)
        let endpoint = WeChatEndpoint(account: try Fixtures.account(.safe))
        for c in cases {
            let name = try c.string("name")
            let ts = try c.string("timestamp"), nonce = try c.string("nonce"), encrypt = try c.string("encrypt")
            let expectedXML = try c.string("expected_plaintext_xml")
            #expect(WeChatSignature.plain(token: Fixtures.token, timestamp: ts, nonce: nonce) == (try c.string("signature")), "\(name)")
            #expect(WeChatSignature.message(token: Fixtures.token, timestamp: ts, nonce: nonce, encrypt: encrypt) == (try c.string("msg_signature")), "\(name)")
            // Decryption, and the raw frame under the key and IV.
            #expect(try cipher.decrypt(encrypt) == Array(expectedXML.utf8), "\(name)")
            let detail = c["crypto_detail"]!
            let frame = try AESCBC.decrypt(key: key.bytes, iv: key.iv, ciphertext: try #require(Base64.decode(encrypt)))
            #expect(Digest.hex(frame) == (try detail.string("padded_plaintext_hex")), "\(name)")
            // Our encryptor fed the same random prefix makes the same ciphertext.
            #expect(cipher.encrypt(Array(expectedXML.utf8), random: Fixtures.hex(try detail.string("random_hex"))) == encrypt, "\(name)")

            // The whole request through the endpoint: same fields as wechatpy parsed.
            let http = c["http"]!
            let outcome = endpoint.handle(method: "POST", query: Fixtures.query(try http.string("query_string")),
                                          body: Array(try http.string("body").utf8), now: 0)
            let inbound = try #require(outcome.inbound, "\(name): \(String(describing: outcome.error))")
            #expect(inbound.wasEncrypted && inbound.replier.encrypts)
            let parse = c["expected_parse"]!
            var ours: [String: String] = [:]
            for f in inbound.message.fields { ours[f.name] = f.value }
            #expect(ours == (try parse.stringMap("fields")), "\(name)")
            let expectedType = try parse.string("type")
            #expect(inbound.message.msgType == expectedType, "\(name)")
            if let wechatpyEvent = parse["event"]?.stringValue {
                let event = try #require(inbound.message.event, "\(name)")
                // wechatpy names a subscription through a QR code "subscribe_scan".
                let expected = wechatpyEvent == "subscribe_scan" ? "subscribe" : wechatpyEvent
                #expect(event.kind.rawValue == expected, "\(name)")
            }
            #expect(inbound.envelope.citizen == Fixtures.openId)
            #expect(inbound.envelope.account == Fixtures.appId)
        }
    }

    @Test func compatibleModeMessage() throws {
        let c = try #require(try Fixtures.vectors().array("oa_compat_mode_inbound").first)
        let http = c["http"]!
        for mode in [WeChatAccountConfig.Mode.compatible, .safe] {
            let outcome = WeChatEndpoint(account: try Fixtures.account(mode)).handle(
                method: "POST", query: Fixtures.query(try http.string("query_string")), body: Array(try http.string("body").utf8), now: 0)
            let inbound = try #require(outcome.inbound, "\(mode): \(String(describing: outcome.error))")
            #expect(inbound.message.body == .text(content: try c["expected_parse"]!.stringMap("fields")["Content"]!))
            #expect(inbound.replier.encrypts)
        }
        // Compatible mode without encrypt_type reads the plaintext fields and answers in plaintext.
        var query = Fixtures.query(try http.string("query_string"))
        query["encrypt_type"] = nil
        query["msg_signature"] = nil
        let plain = WeChatEndpoint(account: try Fixtures.account(.compatible)).handle(
            method: "POST", query: query, body: Array(try http.string("body").utf8), now: 0)
        let inbound = try #require(plain.inbound, "\(String(describing: plain.error))")
        #expect(!inbound.wasEncrypted && !inbound.replier.encrypts)
        #expect(inbound.envelope.text == "你好，我要投诉小区噪音扰民问题，地址：幸福路88号。")
    }

    @Test func everyPassiveReplyIsByteIdentical() throws {
        let cases = try Fixtures.vectors().array("oa_passive_replies")
        #expect(cases.count == 5)
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.appId)
        for c in cases {
            let name = try c.string("name")
            let xml = try c.string("reply_plaintext_xml"), ts = try c.string("timestamp"), nonce = try c.string("nonce")
            let encrypt = cipher.encrypt(Array(xml.utf8), random: Fixtures.hex(try c.string("random_hex")))
            #expect(encrypt == (try c.string("expected_encrypt")), "\(name)")
            let signature = WeChatSignature.message(token: Fixtures.token, timestamp: ts, nonce: nonce, encrypt: encrypt)
            #expect(signature == (try c.string("expected_msg_signature")), "\(name)")
            let envelope = WeChatReplyXML.encrypted(encrypt: encrypt, signature: signature, timestamp: Int64(ts)!, nonce: nonce)
            #expect(String(decoding: envelope, as: UTF8.self) == (try c.string("wechatpy_envelope_xml")), "\(name)")

            // Our writer makes the same plaintext reply as wechatpy.
            let parsed = try XML.parse(xml)
            let to = parsed.childText("ToUserName")!, from = parsed.childText("FromUserName")!
            let created = Int64(parsed.childText("CreateTime")!)!
            let rebuilt: [UInt8]
            switch parsed.childText("MsgType") {
            case "text":
                rebuilt = WeChatReplyXML.text(to: to, from: from, createTime: created, content: parsed.childText("Content")!)
            case "image":
                rebuilt = WeChatReplyXML.image(to: to, from: from, createTime: created, mediaId: parsed.child("Image")!.childText("MediaId")!)
            default:
                let items = parsed.child("Articles")!.children.map {
                    WeChatReplyXML.Article(title: $0.childText("Title")!, description: $0.childText("Description")!,
                                           picURL: $0.childText("PicUrl")!, url: $0.childText("Url")!)
                }
                rebuilt = WeChatReplyXML.news(to: to, from: from, createTime: created, articles: items)
            }
            #expect(String(decoding: rebuilt, as: UTF8.self) == xml, "\(name)")

            // The replier of a safe-mode request wraps it the same way.
            let inbound = try #require(try safeModeInbound().inbound)
            let response = inbound.replier.wrap(Array(xml.utf8), now: Int64(ts)!, nonce: nonce, random: Fixtures.hex(try c.string("random_hex")))
            #expect(response.bodyText == (try c.string("wechatpy_envelope_xml")), "\(name)")
        }
    }

    @Test func weComVectors() throws {
        let wecom = try Fixtures.vectors()["wecom"]!
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.corpId)
        let verify = try wecom.array("verify_url")
        #expect(verify.count == 2)
        for c in verify {
            let q = Fixtures.query(try c["http"]!.string("query_string"))
            let echostr = try #require(q["echostr"])
            #expect(WeChatSignature.verify(q["msg_signature"]!, parts: [Fixtures.token, q["timestamp"]!, q["nonce"]!, echostr]))
            #expect(String(decoding: try cipher.decrypt(echostr), as: UTF8.self) == (try c.string("expected_body")))
        }
        let inbound = try wecom.array("inbound")
        #expect(inbound.count == 2)
        for c in inbound {
            let encrypt = try c.string("encrypt")
            #expect(WeChatSignature.message(token: Fixtures.token, timestamp: try c.string("timestamp"), nonce: try c.string("nonce"),
                                            encrypt: encrypt) == (try c.string("msg_signature")))
            let xml = try cipher.decrypt(encrypt)
            #expect(String(decoding: xml, as: UTF8.self) == (try c.string("expected_plaintext_xml")))
            _ = try WeChatMessage.decode(xml: xml)
        }
        let replies = try wecom.array("replies")
        #expect(replies.count == 1)
        for c in replies {
            let encrypt = cipher.encrypt(Array(try c.string("reply_plaintext_xml").utf8), random: Fixtures.hex(try c.string("random_hex")))
            #expect(encrypt == (try c.string("expected_encrypt")))
            let ts = try c.string("timestamp"), nonce = try c.string("nonce")
            let signature = WeChatSignature.message(token: Fixtures.token, timestamp: ts, nonce: nonce, encrypt: encrypt)
            #expect(signature == (try c.string("expected_msg_signature")))
            #expect(String(decoding: WeChatReplyXML.encrypted(encrypt: encrypt, signature: signature, timestamp: Int64(ts)!, nonce: nonce),
                           as: UTF8.self) == (try c.string("wechatpy_envelope_xml")))
        }
    }

    @Test func knownAnswers() throws {
        let cases = try Fixtures.vectors().array("known_answer")
        #expect(cases.count == 4)
        // 0: Tencent's Official Account sample (compatibility-mode body, non-canonical key).
        let oa = cases[0]
        let oaKey = try WeChatAESKey(encodingAESKey: try oa.string("encoding_aes_key"))
        #expect(Digest.hex(oaKey.bytes) == (try oa.string("aes_key_hex")))
        let account = WeChatAccountConfig(name: "sample", appId: try oa.string("appid"), token: try oa.string("token"), aesKey: oaKey,
                                          mode: .compatible, clockSkewSeconds: 0)
        let query = ["signature": try oa.string("signature"), "timestamp": try oa.string("timestamp"), "nonce": try oa.string("nonce"),
                     "msg_signature": try oa.string("msg_signature"), "encrypt_type": "aes"]
        let outcome = WeChatEndpoint(account: account).handle(method: "POST", query: query, body: Array(try oa.string("body").utf8), now: 0)
        let message = try #require(outcome.inbound, "\(String(describing: outcome.error))").message
        #expect(try account.cipher!.decrypt(try oa.string("encrypt")) == Array(try oa.string("expected_plaintext_xml").utf8))
        #expect(message.body == .text(content: "abcdteT"))
        #expect(message.msgId == "6054768590064713728")

        // 1: Tencent's WeCom sample, URL check (decrypts echostr with the CorpID).
        let wv = cases[1]
        let wq = Fixtures.query(try wv.string("query_string"))
        let wcipher = WeChatCipher(key: try WeChatAESKey(encodingAESKey: try wv.string("encoding_aes_key")), receiveId: try wv.string("receive_id"))
        #expect(WeChatSignature.verify(wq["msg_signature"]!, parts: [try wv.string("token"), wq["timestamp"]!, wq["nonce"]!, wq["echostr"]!]))
        #expect(String(decoding: try wcipher.decrypt(wq["echostr"]!), as: UTF8.self) == (try wv.string("expected_body")))

        // 2: Tencent's WeCom sample, message.
        let wd = cases[2]
        let root = try XML.parse(try wd.string("body"))
        let encrypt = try #require(root.childText("Encrypt"))
        #expect(WeChatSignature.message(token: try wd.string("token"), timestamp: try wd.string("timestamp"), nonce: try wd.string("nonce"),
                                        encrypt: encrypt) == (try wd.string("msg_signature")))
        #expect(String(decoding: try wcipher.decrypt(encrypt), as: UTF8.self) == (try wd.string("expected_plaintext_xml")))

        // 3: wechatpy's test suite, encryption with an ASCII random prefix.
        let we = cases[3]
        let wecipher = WeChatCipher(key: try WeChatAESKey(encodingAESKey: try we.string("encoding_aes_key")), receiveId: try we.string("receive_id"))
        let e = wecipher.encrypt(Array(try we.string("reply_plaintext_xml").utf8), random: Array(try we.string("random_ascii").utf8))
        #expect(e == (try we.string("expected_encrypt")))
        #expect(WeChatSignature.message(token: try we.string("token"), timestamp: try we.string("timestamp"), nonce: try we.string("nonce"),
                                        encrypt: e) == (try we.string("expected_msg_signature")))
    }

    @Test func negativeVectorsAreRefused() throws {
        let v = try Fixtures.vectors()
        let cases = try v.array("negative")
        #expect(cases.count == 6)
        let expected: [String: Set<WeChatError.Code>] = [
            "bad_msg_signature": [.badSignature],
            "bad_plain_signature": [.badSignature],
            "wrong_appid_in_frame": [.wrongAppId],
            "tampered_msg_len_resigned": [.badCiphertext],
            // Decrypts to "<yml>…</xml>": refused by the XML reader (or the root check).
            "tampered_body_resigned": [.badXML, .badMessage],
        ]
        for c in cases {
            let name = try c.string("name")
            let outcome: WeChatOutcome
            if name == "wrong_encoding_aes_key" {
                // The based-on request, received by an account configured with the wrong key.
                let based = try #require(try v.array("oa_safe_mode_inbound").first { $0["name"]?.stringValue == (try c.string("based_on")) })
                let wrong = WeChatAccountConfig(name: "main", appId: Fixtures.appId, token: Fixtures.token,
                                                aesKey: try WeChatAESKey(encodingAESKey: try c.string("encoding_aes_key_used")),
                                                mode: .safe, clockSkewSeconds: 0)
                outcome = WeChatEndpoint(account: wrong).handle(method: "POST", query: Fixtures.query(try based["http"]!.string("query_string")),
                                                                body: Array(try based["http"]!.string("body").utf8), now: 0)
                let code = try #require(outcome.error, "\(name) accepted").code
                #expect([.badCiphertext, .wrongAppId].contains(code), "\(name): \(code)")
                continue
            }
            outcome = WeChatEndpoint(account: try Fixtures.account(.safe)).handle(
                method: "POST", query: try c.stringMap("query"), body: Array(try c.string("body").utf8), now: 0)
            let error = try #require(outcome.error, "\(name) was accepted")
            #expect(expected[name]?.contains(error.code) == true, "\(name): \(error)")
            #expect((400...499).contains(error.status))
        }
    }

    @Test func block16PaddedCiphertextIsRefused() throws {
        let edge = try #require(try Fixtures.vectors().array("edge").first)
        // WeChat always pads to 32; like Tencent's own decryptor we refuse a 16-aligned length.
        let cipher = WeChatCipher(key: try Fixtures.key(), receiveId: Fixtures.appId)
        let encrypt = try #require(try XML.parse(try edge.string("body")).childText("Encrypt"))
        #expect(throws: WeChatCryptoError.badCiphertextLength(336)) { try cipher.decrypt(encrypt) }
        let ts = try edge.string("timestamp"), nonce = try edge.string("nonce")
        let query = ["signature": WeChatSignature.plain(token: Fixtures.token, timestamp: ts, nonce: nonce), "timestamp": ts, "nonce": nonce,
                     "encrypt_type": "aes", "msg_signature": try edge.string("msg_signature")]
        let outcome = WeChatEndpoint(account: try Fixtures.account(.safe)).handle(method: "POST", query: query, body: Array(try edge.string("body").utf8), now: 0)
        #expect(outcome.error?.code == .badCiphertext)
    }

    /// A safe-mode request of the vectors, through the endpoint.
    func safeModeInbound() throws -> WeChatOutcome {
        let c = try Fixtures.vectors().array("oa_safe_mode_inbound")[0]
        return WeChatEndpoint(account: try Fixtures.account(.safe)).handle(
            method: "POST", query: Fixtures.query(try c["http"]!.string("query_string")), body: Array(try c["http"]!.string("body").utf8), now: 0)
    }
}
