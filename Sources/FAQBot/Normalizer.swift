// FAQBot: text normalization shared by the index and the queries — width folding, traditional
// to simplified, lower case, punctuation, emoji and whitespace dropped — producing a sequence of
// units (one per CJK character, one per Latin word or digit run). Pure functions; any thread.

/// One normalized text: its units and, for each, the pinyin syllable unit (homophone key).
public struct NormalizedText: Sendable, Equatable {
    /// One unit per CJK character (its simplified scalar value) or per run of ASCII letters or
    /// digits (a hash above the Unicode range, see `Normalizer.wordUnit`).
    public var units: [UInt32]
    /// Per unit: `syllableBase + id` of its folded pinyin, or the unit itself when it has none.
    public var sounds: [UInt32]
    /// The normalized text as a string (CJK characters and ASCII words, words separated by a space).
    public var text: String

    /// The number of units.
    public var count: Int { units.count }
}

/// Normalizes citizen messages and knowledge-base text the same way.
public struct Normalizer: Sendable {
    /// Sound units are `syllableBase + syllable id`, clear of Unicode and of word hashes.
    public static let syllableBase: UInt32 = 0x0020_0000
    /// Word units (Latin words, digit runs) live in `wordBase ..< wordBase + 2^28`.
    public static let wordBase: UInt32 = 0x1000_0000

    /// The character tables in use.
    public let tables: CharTables
    /// The synonym rewrites in use.
    public let synonyms: Synonyms
    /// Units beyond this many are dropped: bounds the work per message (a long message's core
    /// question is in its first few hundred characters).
    public let maxUnits: Int

    /// A normalizer over `tables`, keeping at most `maxUnits` units per text.
    public init(tables: CharTables = .shared, synonyms: Synonyms = .shared, maxUnits: Int = 400) {
        self.tables = tables
        self.synonyms = synonyms
        self.maxUnits = maxUnits
    }

    /// True for the CJK ideograph blocks the index works on.
    @inline(__always)
    public static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0xF900...0xFAFF).contains(v)
    }

    /// The unit of one ASCII word (already lower-cased): FNV-1a folded into the word range.
    public static func wordUnit(_ bytes: [UInt8]) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        return wordBase | (h & 0x0FFF_FFFF)
    }

    /// Normalizes `input`.
    public func normalize(_ input: String) -> NormalizedText {
        var units: [UInt32] = []
        var sounds: [UInt32] = []
        var text = String.UnicodeScalarView()
        var word: [UInt8] = []
        units.reserveCapacity(min(input.utf8.count / 3 + 4, maxUnits))

        func flushWord() {
            guard !word.isEmpty else { return }
            let unit = Self.wordUnit(word)
            units.append(unit)
            sounds.append(unit)
            if let last = text.last, last != " " { text.append(" ") }
            for b in word { text.append(Unicode.Scalar(b)) }
            text.append(" ")
            word.removeAll(keepingCapacity: true)
        }

        for scalar in input.unicodeScalars {
            if units.count >= maxUnits { break }
            var v = scalar.value
            if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 }  // full-width ASCII
            if v >= 0x41 && v <= 0x5A { v += 0x20 }  // A-Z
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
                // Letters and digits form separate words: "3号楼" and "app里" split cleanly.
                if let last = word.last, (last >= 0x30 && last <= 0x39) != (v >= 0x30 && v <= 0x39) { flushWord() }
                if word.count < 32 { word.append(UInt8(v)) }
                continue
            }
            flushWord()
            guard Self.isCJK(v) else { continue }  // punctuation, emoji, whitespace, kana …
            let s = tables.simplify(v)
            units.append(s)
            let id = tables.syllableID(s)
            sounds.append(id == 0 ? s : Self.syllableBase + UInt32(id))
            text.append(Unicode.Scalar(s) ?? "?")
        }
        if units.count < maxUnits { flushWord() }
        var t = String(text)
        while t.hasSuffix(" ") { t.removeLast() }
        if synonyms.rewrite(&units) {
            sounds = units.map { u in
                let id = Self.isCJK(u) ? tables.syllableID(u) : 0
                return id == 0 ? u : Self.syllableBase + UInt32(id)
            }
        }
        return NormalizedText(units: units, sounds: sounds, text: t)
    }
}
