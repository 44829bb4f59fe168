// FAQBot: the index terms of a normalized text — character unigrams, character bigrams and
// pinyin-syllable bigrams (the homophone key) — packed into 64-bit keys. Pure; any thread.

/// The kinds of term, with the weight a query gives each.
public enum TermKind: UInt64, Sendable, CaseIterable {
    /// One character or word: tolerant of typos, order and paraphrase.
    case unigram = 0
    /// Two adjacent characters: the main evidence.
    case bigram = 1
    /// Two adjacent pinyin syllables (folded): matches homophone errors (设保 ~ 社保).
    case soundBigram = 2

    /// The weight of one matched term of this kind in a query. Unigrams weigh most: paraphrases
    /// share characters far more often than adjacent pairs (chosen on the tuning split).
    public var queryWeight: Float {
        switch self {
        case .unigram: return 1.5
        case .bigram: return 1.0
        case .soundBigram: return 0.4
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

    /// Function characters: question words, particles, pronouns and the generic verbs of every
    /// request (办, 要, 能). A unigram of one, or a bigram of two, weighs `functionFactor` as much:
    /// "去哪里办" says how to ask, not what about.
    static let functionChars: Set<UInt32> = Set(
        "怎么样如何什哪里些个去在需要可以能不有没是吗呢的了我你他她它们这那就都也还和与或到给让被把对从一吧啊呀嘛请问想知道办该应得会用".unicodeScalars.map(\.value))
    /// Weight of a term made only of function characters.
    static let functionFactor: Float = 0.2

    /// Calls `body` for every term of `text`, in order, with repetitions, with its query weight.
    @inline(__always)
    static func forEach(_ text: NormalizedText, _ body: (UInt64, Float) -> Void) {
        let u = text.units, s = text.sounds
        var function = functionChars.contains(u.first ?? 0)
        for i in 0..<u.count {
            body(key(.unigram, u[i]), TermKind.unigram.queryWeight * (function ? functionFactor : 1))
            if i + 1 < u.count {
                let next = functionChars.contains(u[i + 1])
                let f: Float = function && next ? functionFactor : 1
                body(key(.bigram, u[i], u[i + 1]), TermKind.bigram.queryWeight * f)
                body(key(.soundBigram, s[i], s[i + 1]), TermKind.soundBigram.queryWeight * f)
                function = next
            }
        }
    }
}
