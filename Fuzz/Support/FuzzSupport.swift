// Fuzz/Support: helpers compiled into every fuzz target (Ops/scripts/fuzz): a seeded PRNG, the
// chunkings a resumable decoder is fed in, a reader that takes structured values from the
// fuzzer's bytes, and `check`, the invariant assertion that traps in every build mode.
// One fuzzer process runs one input at a time on one thread.
#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: small, fast, good enough to choose split points from a fuzzer-given seed.
struct FuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value in `0..<n` (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The ways a stream decoder is fed the same bytes: whole, split at random points (seeded by
/// the input, so a crash reproduces), and one byte at a time when the input is small enough
/// for that to stay fast. A resumable decoder must give the same result for each.
func chunkings(of bytes: [UInt8], seed: UInt64, byteByByteLimit: Int = 1024) -> [(name: String, pieces: [ArraySlice<UInt8>])] {
    var out: [(String, [ArraySlice<UInt8>])] = [("whole", [bytes[...]])]
    var rng = FuzzRandom(seed: seed)
    for round in 0..<2 {
        var pieces: [ArraySlice<UInt8>] = []
        var i = 0
        // Round 0: small pieces (1...16 bytes), round 1: anything up to the whole rest.
        while i < bytes.count {
            let n = round == 0 ? 1 + rng.below(16) : 1 + rng.below(bytes.count - i)
            let end = min(bytes.count, i + n)
            pieces.append(bytes[i..<end])
            i = end
        }
        out.append(("random\(round)", pieces))
    }
    if bytes.count <= byteByByteLimit {
        out.append(("byte-by-byte", bytes.indices.map { bytes[$0..<($0 + 1)] }))
    }
    return out
}

/// Takes values off the front of the fuzzer's input; past the end every read gives zeros, so
/// any input is a valid encoding of something.
struct FuzzInput {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { max(0, bytes.count - offset) }
    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }
    mutating func u64() -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(byte()) << (8 * UInt64(k)) }
        return v
    }
    /// Up to `n` bytes (fewer at the end of the input).
    mutating func take(_ n: Int) -> [UInt8] {
        let end = min(bytes.count, offset + max(0, n))
        defer { offset = max(offset, end) }
        return offset < end ? Array(bytes[offset..<end]) : []
    }
    /// Everything not read yet.
    mutating func rest() -> [UInt8] { take(remaining) }
}

/// An invariant of the code under test. Unlike `assert` it traps in every build, with a message
/// saying which invariant broke; libFuzzer then saves the input.
@inline(__always)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("FUZZ INVARIANT: " + message(), file: file, line: line) }
}

/// A short printable form of bytes for invariant messages.
func show(_ bytes: some Collection<UInt8>, limit: Int = 96) -> String {
    var s = ""
    for b in bytes.prefix(limit) {
        if b >= 0x20 && b < 0x7F && b != 0x5C { s.append(Character(Unicode.Scalar(b))) } else {
            s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    return bytes.count > limit ? s + "…(\(bytes.count) bytes)" : s
}

/// The fuzzer's bytes as an array.
func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// FUZZ_STRICT=1 turns every known-issue guard off (how a fix of one is checked).
let fuzzStrict: Bool = getenv("FUZZ_STRICT").map { String(cString: $0) == "1" } ?? false

/// A bug found by fuzzing whose fix lies in files another engineer owns (Fuzz/README.md, "Known
/// issues"): true when `applies` holds and FUZZ_STRICT is not set, so the harness steps around
/// exactly that shape of input and fuzzing goes on finding other things. Remove the guard with
/// the fix.
func knownIssue(_ id: StaticString, _ applies: @autoclosure () -> Bool) -> Bool {
    !fuzzStrict && applies()
}
