// UTF8Validator against the cases of the Autobahn 6.x suite (boundaries, overlongs,
// surrogates, the 4-byte maximum, truncation), split at every point, and against the standard
// library's validation on exhaustive and seeded random inputs. Test-thread only.
import Testing
import IntakeTestSupport
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct UTF8ValidatorTests {
    static let valid: [String] = [
        "",
        "48 65 6c 6c 6f 2d c2 b5 40 c3 9f c3 b6 c3 a4 c3 bc c3 a0 c3 a1 2d 55 54 46 2d 38 21 21", // 6.2: Hello-µ@ßöäüàá-UTF-8!!
        "ce ba e1 bd b9 cf 83 ce bc ce b5",     // 6.3: κόσμε
        "00", "7f", "c2 80", "df bf",           // 6.6-6.8: first and last of each length
        "e0 a0 80", "ef bf bf", "f0 90 80 80", "f4 8f bf bf",
        "ed 9f bf", "ee 80 80", "ef bf bd",     // 6.9: around the surrogates, U+FFFD
        "ef bf be", "ef bf bf", "f0 9f 98 80",  // noncharacters are well-formed; an emoji
        "61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 e2 82 ac", // ASCII run then €
    ]

    static let invalid: [String] = [
        "80", "bf", "80 bf", "80 bf 80",        // 6.10: stray continuation bytes
        "c0", "c2", "e0", "e0 a0", "f0", "f0 90 80", "f4 8f bf", // 6.12-6.14: truncated
        "c0 af", "c1 bf", "e0 80 af", "e0 9f bf", "f0 80 80 af", "f0 8f bf bf", // 6.16: overlong
        "f8 88 80 80 80", "fc 84 80 80 80 80", "fe", "ff", "fe fe ff ff", // 6.15, 6.17
        "ed a0 80", "ed ad bf", "ed ae 80", "ed af bf", "ed b0 80", "ed be 80", "ed bf bf", // 6.18: lone surrogates
        "ed a0 80 ed b0 80", "ed af bf ed bf bf",       // 6.19: surrogate pairs
        "f4 90 80 80", "f5 80 80 80", "f7 bf bf bf",    // above U+10FFFF
        "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", // 6.3.1
        "ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80 80 65 64 69 74 65 64", // 6.4.1
        "61 62 63 64 65 66 67 68 80", "61 62 63 64 65 66 67 c3",           // after an ASCII run
        "c3 28", "e2 28 a1", "e2 82 28", "f0 28 8c bc", "f0 90 28 bc",
    ]

    @Test(arguments: valid)
    func validWholeAndSplit(_ text: String) {
        let bytes = hex(text)
        #expect(UTF8Validator.isValid(bytes))
        #expect(allSplitsAgree(bytes) == true)
    }

    @Test(arguments: invalid)
    func invalidWholeAndSplit(_ text: String) {
        let bytes = hex(text)
        #expect(!UTF8Validator.isValid(bytes))
        #expect(allSplitsAgree(bytes) == false)
    }

    /// Validates `bytes` cut at every pair of points into three pieces and checks that every
    /// cutting agrees; returns that common verdict (nil if they disagree).
    func allSplitsAgree(_ bytes: [UInt8]) -> Bool? {
        var verdict: Bool?
        for i in 0...bytes.count {
            for j in i...bytes.count {
                var v = UTF8Validator()
                let ok = [Array(bytes[0..<i]), Array(bytes[i..<j]), Array(bytes[j...])]
                    .allSatisfy { piece in piece.withUnsafeBytes { v.validate($0) } }
                let result = ok && v.isComplete
                if let verdict, verdict != result { return nil }
                verdict = result
            }
        }
        return verdict
    }

    @Test func failsAtTheFirstBadByte() {
        // κόσμε then F4 90: the prefix is already invalid, whatever follows.
        var v = UTF8Validator()
        #expect(hex("ce ba e1 bd b9 cf 83 ce bc ce b5 f4").withUnsafeBytes { v.validate($0) })
        #expect(!v.isComplete)
        #expect(!hex("90").withUnsafeBytes { v.validate($0) })
        #expect(v.hasFailed)
        #expect(!hex("80 80").withUnsafeBytes { v.validate($0) }, "failure is sticky")
        v.reset()
        #expect(v.isComplete)
    }

    @Test func agreesWithTheStandardLibraryOnAllTwoByteInputs() {
        var disagreements = 0
        for a in 0...255 {
            for b in 0...255 {
                let bytes = [UInt8(a), UInt8(b)]
                if UTF8Validator.isValid(bytes) != (String(validating: bytes, as: UTF8.self) != nil) { disagreements += 1 }
            }
        }
        #expect(disagreements == 0)
    }

    @Test func agreesWithTheStandardLibraryOnRandomInputs() {
        // Bytes drawn mostly from the interesting ranges (leads, continuations, ASCII), at
        // lengths that cross the 8-byte fast path.
        let seed: UInt64 = 0x0075_7466_38
        var rng = SeededRandom(seed: seed)
        let pool: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                             0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var checked = 0
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...20, using: &rng)
            let bytes = (0..<n).map { _ in
                rng.next() % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : pool[Int(rng.next() % UInt64(pool.count))]
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(UTF8Validator.isValid(bytes) == expected, "seed \(seed): \(bytes)")
            let cut = n == 0 ? 0 : Int.random(in: 0...n, using: &rng)
            var v = UTF8Validator()
            let ok = Array(bytes[..<cut]).withUnsafeBytes { v.validate($0) } && Array(bytes[cut...]).withUnsafeBytes { v.validate($0) }
            #expect((ok && v.isComplete) == expected, "seed \(seed): \(bytes) cut at \(cut)")
            checked += 1
        }
        #expect(checked == 20_000)
    }

    @Test func everyScalarRoundTrips() {
        // Every Unicode scalar value, encoded by the standard library, is accepted.
        var bytes: [UInt8] = []
        for value in stride(from: 0, through: 0x10FFFF, by: 7) {
            if let scalar = Unicode.Scalar(UInt32(value)) { bytes += Array(String(scalar).utf8) }
        }
        #expect(UTF8Validator.isValid(bytes))
    }
}
