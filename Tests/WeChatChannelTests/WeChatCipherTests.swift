// The WeChat frame cipher against hand-made hostile frames: every pad length, tampered
// ciphertext, padding, length field and AppID, bad base64 and key strings. Nothing may trap.
import Testing
import IntakeCrypto
import WeChatChannel

@Suite(.timeLimit(.minutes(5)))
struct WeChatCipherTests {
    let key: WeChatAESKey
    let cipher: WeChatCipher

    init() throws {
        key = try Fixtures.key()
        cipher = WeChatCipher(key: key, receiveId: Fixtures.appId)
    }

    /// `frame` encrypted as it is (the caller does the padding), as base64.
    func seal(_ frame: [UInt8]) throws -> String {
        Base64.encode(try AESCBC.encrypt(key: key.bytes, iv: key.iv, plaintext: frame))
    }

    /// random ‖ len ‖ msg ‖ id, with `declared` in the length field.
    func frame(_ msg: [UInt8], id: String = Fixtures.appId, declared: Int? = nil) -> [UInt8] {
        let n = UInt32(declared ?? msg.count)
        return [UInt8](repeating: 0x41, count: 16) + [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            + msg + Array(id.utf8)
    }

    func pad32(_ f: [UInt8]) -> [UInt8] {
        let p = 32 - f.count % 32
        return f + [UInt8](repeating: UInt8(p), count: p)
    }

    @Test func everyPadLengthRoundTrips() throws {
        var pads = Set<Int>()
        for n in 0..<96 {
            let msg = Array(String(repeating: "字", count: n / 3).utf8) + Array(String(repeating: "a", count: n % 3).utf8)
            let e = cipher.encrypt(msg)
            let ct = try #require(Base64.decode(e))
            #expect(ct.count % 32 == 0)
            let raw = try AESCBC.decrypt(key: key.bytes, iv: key.iv, ciphertext: ct)
            pads.insert(Int(raw.last!))
            #expect(try cipher.decrypt(e) == msg)
        }
        #expect(pads == Set(1...32), "an aligned frame must get a whole block of padding (32)")
    }

    @Test func freshRandomPrefixEachTime() {
        let msg = Array("<xml/>".utf8)
        #expect(cipher.encrypt(msg) != cipher.encrypt(msg))
    }

    @Test func flippedCiphertextBytesNeverYieldTheMessage() throws {
        let msg = Array("<xml><Content><![CDATA[路灯坏了]]></Content></xml>".utf8)
        let ct = try #require(Base64.decode(cipher.encrypt(msg)))
        for k in 0..<ct.count {
            for bit: UInt8 in [0x01, 0x80] {
                var t = ct
                t[k] ^= bit
                // CBC is malleable: a flip can decrypt, but never to the same message.
                if let out = try? cipher.decrypt(Base64.encode(t)) { #expect(out != msg, "byte \(k)") }
            }
        }
        // A flip in the last block garbles the padding: refused.
        var last = ct
        last[ct.count - 20] ^= 0xff
        #expect(throws: WeChatCryptoError.self) { try cipher.decrypt(Base64.encode(last)) }
    }

    @Test func badPaddingIsRefused() throws {
        let body = frame(Array("<xml/>".utf8))  // 16 + 4 + 6 + 18 = 44 bytes; 20 to pad
        var zero = body + [UInt8](repeating: 0, count: 20)
        #expect(throws: WeChatCryptoError.badPadding) { try cipher.decrypt(try seal(zero)) }
        zero[zero.count - 1] = 33
        #expect(throws: WeChatCryptoError.badPadding) { try cipher.decrypt(try seal(zero)) }
        var unequal = pad32(body)
        unequal[unequal.count - 2] ^= 1
        #expect(throws: WeChatCryptoError.badPadding) { try cipher.decrypt(try seal(unequal)) }
        // PKCS#7 over 16-byte blocks (OpenSSL's default): 44 + 4 = 48 is a multiple of 16, not 32.
        let block16 = body + [UInt8](repeating: 4, count: 4)
        #expect(throws: WeChatCryptoError.badCiphertextLength(48)) { try cipher.decrypt(try seal(block16)) }
    }

    @Test func lengthFieldIsCheckedBeforeSlicing() throws {
        let msg = Array("<xml/>".utf8)
        let available = msg.count + Fixtures.appId.utf8.count
        for declared in [available + 1, 0x7fff_ffff, 0xffff_ffff] {
            #expect(throws: WeChatCryptoError.badMessageLength(declared: declared, available: available)) {
                try cipher.decrypt(try seal(pad32(frame(msg, declared: declared))))
            }
        }
        // Claiming the AppID as part of the message leaves no AppID: refused.
        #expect(throws: WeChatCryptoError.receiveIdMismatch) { try cipher.decrypt(try seal(pad32(frame(msg, declared: available)))) }
        // Nothing after the random prefix and the length field.
        let short = [UInt8](repeating: 0x41, count: 20) + [UInt8](repeating: 12, count: 12)
        #expect(throws: WeChatCryptoError.frameTooShort(20)) { try cipher.decrypt(try seal(short)) }
        let allPad = [UInt8](repeating: 32, count: 32)
        #expect(throws: WeChatCryptoError.frameTooShort(0)) { try cipher.decrypt(try seal(allPad)) }
    }

    @Test func appIdMustMatchExactly() throws {
        let msg = Array("<xml/>".utf8)
        for other in ["wx0000000000000000", Fixtures.appId + "x", String(Fixtures.appId.dropLast()), "", Fixtures.appId.uppercased()] {
            #expect(throws: WeChatCryptoError.receiveIdMismatch, "\(other)") { try cipher.decrypt(try seal(pad32(frame(msg, id: other)))) }
        }
        #expect(try cipher.decrypt(try seal(pad32(frame(msg)))) == msg)
    }

    @Test func badBase64AndLengths() throws {
        for bad in ["not base64!", "QUJD", "QUJDRA", " " + cipher.encrypt([1]), cipher.encrypt([1]) + "\n"] {
            #expect(throws: WeChatCryptoError.self, "\(bad)") { try cipher.decrypt(bad) }
        }
        #expect(throws: WeChatCryptoError.badBase64) { try cipher.decrypt("QUJDRA") }
        #expect(throws: WeChatCryptoError.badCiphertextLength(0)) { try cipher.decrypt("") }
        #expect(throws: WeChatCryptoError.badCiphertextLength(16)) { try cipher.decrypt(Base64.encode([UInt8](repeating: 0, count: 16))) }
        #expect(throws: WeChatCryptoError.badCiphertextLength(33)) { try cipher.decrypt(Base64.encode([UInt8](repeating: 0, count: 33))) }
    }

    @Test func wrongKeyIsRefusedWithoutTrapping() throws {
        let e = cipher.encrypt(Array("<xml><Content>x</Content></xml>".utf8))
        for _ in 0..<200 {
            let other = WeChatCipher(key: try WeChatAESKey(encodingAESKey: WeChatAESKey.randomEncodingAESKey()), receiveId: Fixtures.appId)
            #expect(throws: WeChatCryptoError.self) { try other.decrypt(e) }
        }
    }

    @Test func encodingAESKeyValidation() throws {
        for bad in ["", String(Fixtures.encodingAESKey.dropLast()), Fixtures.encodingAESKey + "A",
                    String(Fixtures.encodingAESKey.dropLast()) + "=", String(Fixtures.encodingAESKey.dropLast()) + "-",
                    String(Fixtures.encodingAESKey.dropLast()) + "é"] {
            #expect(throws: WeChatCryptoError.self, "\(bad)") { try WeChatAESKey(encodingAESKey: bad) }
        }
        for _ in 0..<50 {
            let k = WeChatAESKey.randomEncodingAESKey()
            #expect(k.utf8.count == 43 && k.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) })
            #expect(try WeChatAESKey(encodingAESKey: k).bytes.count == 32)
        }
    }

    @Test func signaturesSortBytewiseAndCompareExactly() {
        // Byte-wise, not numeric and not by Unicode canonical order.
        #expect(WeChatSignature.compute(["999", "1409735669", "token"]) == Digest.hex(Digest.sha1(Array("1409735669999token".utf8))))
        #expect(WeChatSignature.compute(["aa", "Zz", "1700000000"]) == Digest.hex(Digest.sha1(Array("1700000000Zzaa".utf8))))
        #expect(WeChatSignature.compute(["é", "e\u{301}"]) == Digest.hex(Digest.sha1(Array("e\u{301}é".utf8))))
        let good = WeChatSignature.plain(token: "t0ken", timestamp: "1", nonce: "2")
        #expect(WeChatSignature.verify(good, parts: ["t0ken", "1", "2"]))
        #expect(!WeChatSignature.verify(good.uppercased(), parts: ["t0ken", "1", "2"]))
        #expect(!WeChatSignature.verify(String(good.dropLast()), parts: ["t0ken", "1", "2"]))
        #expect(!WeChatSignature.verify("", parts: ["t0ken", "1", "2"]))
    }
}
