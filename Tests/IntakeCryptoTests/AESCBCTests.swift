// AES-CBC without padding: NIST SP 800-38A appendix F.2 vectors (AES-128/192/256), round
// trips, and the refusals (key, IV, block alignment). Padding must never be added or removed.
import Testing
import IntakeCrypto

@Suite(.timeLimit(.minutes(5)))
struct AESCBCTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
            out.append(v(hi) << 4 | v(lo))
        }
        return out
    }

    static let iv = hex("000102030405060708090a0b0c0d0e0f")
    static let plaintext = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                               + "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")

    /// (name, key, ciphertext) from SP 800-38A F.2.1, F.2.3 and F.2.5.
    static let vectors: [(String, String, String)] = [
        ("CBC-AES128", "2b7e151628aed2a6abf7158809cf4f3c",
         "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"),
        ("CBC-AES192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
         "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"),
        ("CBC-AES256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
         "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"),
    ]

    @Test(arguments: 0..<3)
    func nistVectors(_ k: Int) throws {
        let (name, keyHex, ctHex) = Self.vectors[k]
        let key = Self.hex(keyHex)
        let ct = try AESCBC.encrypt(key: key, iv: Self.iv, plaintext: Self.plaintext)
        #expect(Digest.hex(ct) == ctHex, "\(name) encrypt")
        #expect(try AESCBC.decrypt(key: key, iv: Self.iv, ciphertext: Self.hex(ctHex)) == Self.plaintext, "\(name) decrypt")
        // Each block alone (CBC chains: block n's IV is ciphertext block n-1).
        let blocks = Self.hex(ctHex)
        for b in 1..<4 {
            let iv = Array(blocks[(b - 1) * 16 ..< b * 16])
            let one = try AESCBC.encrypt(key: key, iv: iv, plaintext: Array(Self.plaintext[b * 16 ..< (b + 1) * 16]))
            #expect(one == Array(blocks[b * 16 ..< (b + 1) * 16]))
        }
    }

    @Test func noPaddingIsAddedOrRemoved() throws {
        let key = SecureRandom.bytes(32), iv = SecureRandom.bytes(16)
        for blocks in [1, 2, 3, 64] {
            // A last byte of 0x10 would look like a full PKCS#7 block; 0x20 like WeChat's pad 32.
            for last: UInt8 in [0x00, 0x01, 0x10, 0x20, 0xff] {
                var p = SecureRandom.bytes(blocks * 16)
                p[p.count - 1] = last
                let c = try AESCBC.encrypt(key: key, iv: iv, plaintext: p)
                #expect(c.count == p.count)
                #expect(try AESCBC.decrypt(key: key, iv: iv, ciphertext: c) == p)
            }
        }
        #expect(try AESCBC.encrypt(key: key, iv: iv, plaintext: []) == [])
    }

    @Test func refusals() {
        let iv = [UInt8](repeating: 0, count: 16)
        #expect(throws: CryptoError.badKeyLength(31)) { try AESCBC.encrypt(key: [UInt8](repeating: 0, count: 31), iv: iv, plaintext: []) }
        #expect(throws: CryptoError.badIVLength(12)) { try AESCBC.decrypt(key: [UInt8](repeating: 0, count: 32), iv: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ciphertext: []) }
        #expect(throws: CryptoError.notBlockAligned(17)) { try AESCBC.decrypt(key: [UInt8](repeating: 0, count: 32), iv: iv, ciphertext: [UInt8](repeating: 0, count: 17)) }
        #expect(throws: CryptoError.notBlockAligned(15)) { try AESCBC.encrypt(key: [UInt8](repeating: 0, count: 16), iv: iv, plaintext: [UInt8](repeating: 0, count: 15)) }
    }
}
