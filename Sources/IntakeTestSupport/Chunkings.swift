// IntakeTestSupport: ways to cut one input into pieces, so that every resumable decoder is
// fed its input whole, byte by byte, and split at random points (seeded, reproducible).

/// A small, fast, seedable PRNG (SplitMix64) so failing random tests can be replayed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One way of cutting an input, with a name for test failure messages.
public struct Chunking: Sendable, CustomStringConvertible {
    public let name: String
    public let pieces: [[UInt8]]
    public var description: String { name }
}

/// The input whole, byte by byte, and `randomSplits` random cuttings (seeded by `seed`).
public func chunkings(of input: [UInt8], randomSplits: Int = 8, seed: UInt64 = 0x1A7A_4E) -> [Chunking] {
    var out = [Chunking(name: "whole", pieces: [input])]
    out.append(Chunking(name: "byte-by-byte", pieces: input.map { [$0] }))
    var rng = SeededRandom(seed: seed)
    for k in 0..<randomSplits {
        var pieces: [[UInt8]] = []
        var i = 0
        while i < input.count {
            let n = Int.random(in: 1...max(1, min(input.count - i, 1 + Int(rng.next() % 97))), using: &rng)
            pieces.append(Array(input[i..<(i + n)]))
            i += n
        }
        out.append(Chunking(name: "random-\(k) (seed \(seed))", pieces: pieces))
    }
    return out
}
