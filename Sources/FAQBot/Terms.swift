// FAQBot: the index terms of a normalized text — character unigrams, character bigrams and
// pinyin-syllable bigrams (the homophone key) — packed into 64-bit keys. Pure; any thread.

/// The kinds of term, with the weight a query gives each.
public enum TermKind: UInt64, Sendable, CaseIterable {
    /// One character or word: tolerant of typos and order, weak alone.
    case unigram = 0
    /// Two adjacent characters: the main evidence.
    case bigram = 1
    /// Two adjacent pinyin syllables (folded): matches homophone errors (设保 ~ 社保).
    case soundBigram = 2

    /// The weight of one matched term of this kind in a query.
    public var queryWeight: Float {
        switch self {
        case .unigram: return 0.35
        case .bigram: return 1.0
        case .soundBigram: return 0.6
        }
    }
}

/// Term extraction shared by the index and the matcher.
enum Terms {
    @inline(__always)
    static func key(_ kind: TermKind, _ a: UInt32, _ b: UInt32 = 0) -> UInt64 {
        kind.rawValue << 58 | UInt64(a & 0x1FFF_FFFF) << 29 | UInt64(b & 0x1FFF_FFFF)
    }

    @inline(__always)
    static func kind(of key: UInt64) -> TermKind { TermKind(rawValue: key >> 58) ?? .bigram }

    /// Calls `body` for every term of `text`, in order, with repetitions.
    @inline(__always)
    static func forEach(_ text: NormalizedText, _ body: (UInt64) -> Void) {
        let u = text.units, s = text.sounds
        for i in 0..<u.count {
            body(key(.unigram, u[i]))
            if i + 1 < u.count {
                body(key(.bigram, u[i], u[i + 1]))
                body(key(.soundBigram, s[i], s[i + 1]))
            }
        }
    }
}
