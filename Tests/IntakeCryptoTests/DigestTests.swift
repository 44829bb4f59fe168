// Published test vectors for the OpenSSL-backed digests, HMAC and base64.
import Testing
import IntakeCrypto

@Suite struct DigestTests {
    @Test func sha1Vectors() {
        // FIPS 180-2 appendix A
        #expect(Digest.hex(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Digest.hex(Digest.sha1([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test func sha256Vectors() {
        #expect(Digest.hex(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hmacSHA256RFC4231Case2() {
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Digest.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func base64RFC4648Vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, enc) in cases {
            #expect(Base64.encode(Array(plain.utf8)) == enc)
            #expect(Base64.decode(enc) == Array(plain.utf8))
        }
        #expect(Base64.decode("Zm9") == nil)
        #expect(Base64.decode("Zm=v") == nil)
        #expect(Base64.decode("Zm9v!A==") == nil)
    }

    @Test func constantTimeCompare() {
        #expect(constantTimeEquals(Array("secret".utf8), Array("secret".utf8)))
        #expect(!constantTimeEquals(Array("secret".utf8), Array("secreT".utf8)))
        #expect(!constantTimeEquals(Array("secret".utf8), Array("secret!".utf8)))
        #expect(!constantTimeEquals([UInt8](), Array("x".utf8)))
    }

    @Test func randomTokensDiffer() {
        let a = SecureRandom.token(), b = SecureRandom.token()
        #expect(a.count == 32 && b.count == 32 && a != b)
    }
}
