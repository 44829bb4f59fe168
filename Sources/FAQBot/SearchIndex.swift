// FAQBot: the inverted index over question, similar questions, keywords, category and the head
// of the answer, with BM25 impacts precomputed per posting. Built once per knowledge base and
// immutable afterwards; any thread.
import Foundation

/// Postings in compressed-row form: the entries of term `t` are `docs[start[t] ..< start[t+1]]`
/// with their BM25 impacts (idf × saturated field-weighted term frequency) in `impacts`.
public final class SearchIndex: Sendable {
    /// BM25 term-frequency saturation.
    static let k1: Float = 1.2
    /// BM25 length normalization (entries are short and similar, so below the usual 0.75).
    static let b: Float = 0.5
    /// Field weights of one term occurrence (chosen on the tuning split and its perturbed variants).
    static let questionWeight: Float = 1.0
    static let keywordWeight: Float = 1.5
    static let categoryWeight: Float = 0.3
    static let answerWeight: Float = 0.3
    /// Units of the answer indexed: its head states the topic, the rest is procedure.
    static let answerUnits = 120
    /// Units of a question kept for the reranker's sequence features (bounds its work).
    static let phrasingUnits = 48

    /// The normalizer queries must use.
    public let normalizer: Normalizer
    /// Number of entries.
    public let count: Int
    let termIDs: [UInt64: Int32]
    let start: [Int32]
    let docs: [Int32]
    let impacts: [Float]
    /// Inverse document frequency per term.
    let idf: [Float]
    /// idf of a term found in no entry (what an unknown query term would weigh).
    let unseenIDF: Float
    /// Per entry: the distinct terms of its question and similar questions, ascending.
    let questionTerms: [[Int32]]
    /// Per entry: each keyword's sound sequence (homophone-tolerant keyword hits).
    let keywordSounds: [[[UInt32]]]
    /// Per entry: the sound sequence of the question and of each similar question (reranker:
    /// sound-bigram coverage and longest common subsequence).
    let phrasingSounds: [[[UInt32]]]
    /// Per entry: the sound and unigram term of each content character of its main question
    /// (reranker: the rarest question character the message lacks).
    let questionContent: [[(sound: UInt32, term: Int32)]]
    /// Per entry: the character-bigram keys of its category (reranker: category hit).
    let categoryBigrams: [[UInt64]]

    /// Indexes `entries`.
    public init(entries: [Entry], normalizer: Normalizer) {
        self.normalizer = normalizer
        count = entries.count
        var ids: [UInt64: Int32] = [:]
        var perDoc: [[(Int32, Float)]] = []
        var lengths: [Float] = []
        var questionTerms: [[Int32]] = []
        var keywordSounds: [[[UInt32]]] = []
        var phrasingSounds: [[[UInt32]]] = []
        var categoryBigrams: [[UInt64]] = []
        var questionContent: [[(sound: UInt32, term: Int32)]] = []
        perDoc.reserveCapacity(entries.count)

        func id(_ key: UInt64) -> Int32 {
            if let t = ids[key] { return t }
            let t = Int32(ids.count)
            ids[key] = t
            return t
        }
        for entry in entries {
            var tf: [Int32: Float] = [:]
            var questionTF: [Int32: Float] = [:]
            var phrasings: [[UInt32]] = []
            for q in [entry.question] + entry.similarQuestions {
                var one: [Int32: Float] = [:]
                let n = normalizer.normalize(q)
                if !n.sounds.isEmpty { phrasings.append(Array(n.sounds.prefix(Self.phrasingUnits))) }
                Terms.forEach(n) { k, _ in one[id(k), default: 0] += Self.questionWeight }
                // A term's weight is its best over the phrasings, so ten paraphrases do not
                // outweigh a keyword.
                for (t, w) in one { questionTF[t] = max(questionTF[t] ?? 0, w) }
            }
            questionTerms.append(questionTF.keys.sorted())
            phrasingSounds.append(phrasings)
            let main = normalizer.normalize(entry.question)
            questionContent.append(zip(main.units, main.sounds).compactMap { u, snd in
                Normalizer.isCJK(u) && !Terms.functionChars.contains(u) ? (snd, id(Terms.key(.unigram, u))) : nil
            })
            let cat = normalizer.normalize(entry.category).units
            categoryBigrams.append(cat.count < 2 ? [] : (0..<(cat.count - 1)).map { Terms.key(.bigram, cat[$0], cat[$0 + 1]) })
            for (t, w) in questionTF { tf[t, default: 0] += w }
            var sounds: [[UInt32]] = []
            for k in entry.keywords {
                let n = normalizer.normalize(k)
                if !n.sounds.isEmpty { sounds.append(n.sounds) }
                Terms.forEach(n) { k, _ in tf[id(k), default: 0] += Self.keywordWeight }
            }
            keywordSounds.append(sounds)
            Terms.forEach(normalizer.normalize(entry.category)) { k, _ in tf[id(k), default: 0] += Self.categoryWeight }
            var answer = normalizer.normalize(String(entry.answer.unicodeScalars.prefix(Self.answerUnits * 2)))
            if answer.count > Self.answerUnits {
                answer.units.removeLast(answer.count - Self.answerUnits)
                answer.sounds.removeLast(answer.sounds.count - Self.answerUnits)
            }
            Terms.forEach(answer) { k, _ in tf[id(k), default: 0] += Self.answerWeight }
            lengths.append(tf.values.reduce(0, +))
            perDoc.append(tf.map { ($0.key, $0.value) })
        }

        let termCount = ids.count
        var df = [Int32](repeating: 0, count: termCount)
        for d in perDoc { for (t, _) in d { df[Int(t)] += 1 } }
        let n = Float(max(entries.count, 1))
        idf = df.map { log(1 + (n - Float($0) + 0.5) / (Float($0) + 0.5)) }
        unseenIDF = log(1 + (n + 0.5) / 1.5)
        var start = [Int32](repeating: 0, count: termCount + 1)
        for t in 0..<termCount { start[t + 1] = start[t] + df[t] }
        var fill = Array(start.dropLast())
        var docs = [Int32](repeating: 0, count: Int(start[termCount]))
        var impacts = [Float](repeating: 0, count: docs.count)
        let avgLength = max(lengths.reduce(0, +) / n, 1)
        for (d, terms) in perDoc.enumerated() {
            let norm = Self.k1 * (1 - Self.b + Self.b * lengths[d] / avgLength)
            for (t, f) in terms {
                let slot = Int(fill[Int(t)])
                fill[Int(t)] += 1
                docs[slot] = Int32(d)
                impacts[slot] = idf[Int(t)] * f * (Self.k1 + 1) / (f + norm)
            }
        }
        self.termIDs = ids
        self.start = start
        self.docs = docs
        self.impacts = impacts
        self.questionTerms = questionTerms
        self.keywordSounds = keywordSounds
        self.phrasingSounds = phrasingSounds
        self.categoryBigrams = categoryBigrams
        self.questionContent = questionContent
    }
}
