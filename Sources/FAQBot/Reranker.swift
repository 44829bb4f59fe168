// FAQBot: the second stage — a linear model over pairwise (message, entry) features that reorders
// the first stage's best `depth` entries. Fitted offline (Ops/faq/fit_rerank.py, listwise softmax
// on the tuning split and its perturbed variants) and committed as Resources/rerank.txt.
// Value types; any thread.
import Foundation

/// The reranker's coefficients.
public struct Reranker: Sendable, Equatable {
    /// Feature names in model order (the resource file and the dumps use these names).
    /// - score: first-stage coverage of the message; relScore: score over the pool's best
    /// - questionCoverage: idf-weighted share of the entry's question terms in the message
    /// - keywordHits: keywords found by sound (capped at 3); missedContent: see `Candidate`
    /// - queryByQuestion: share of the message's term weight found in the entry's questions only
    /// - soundCoverage: best share of a question's distinct pinyin bigrams present in the message
    /// - lcs: best longest-common-subsequence (by sound) over a question's length
    /// - categoryHit: share of the category's character bigrams in the message
    /// - firstRank: 1 / (first-stage rank + 1)
    /// - entryMissed: the rarest content character of the entry's question absent (by sound) from
    ///   the message, as its idf over an unseen term's
    public static let names = ["score", "relScore", "questionCoverage", "keywordHits", "missedContent",
                               "queryByQuestion", "soundCoverage", "lcs", "categoryHit", "firstRank", "entryMissed"]

    /// One weight per feature, in `names` order.
    public let weights: [Double]
    /// First-stage candidates reranked per message.
    public let depth: Int

    /// A reranker from its coefficients.
    public init(weights: [Double], depth: Int = 20) {
        precondition(weights.count == Self.names.count, "BUG: one weight per reranker feature")
        self.weights = weights
        self.depth = max(depth, 1)
    }

    /// The identity reranker: keeps the first stage's order.
    public static let identity = Reranker(weights: [1] + Array(repeating: 0, count: names.count - 1))

    /// Parses "name value" lines (`depth` and one per feature; `#` comments).
    public init(text: String) throws(KnowledgeBaseError) {
        var values: [String: Double] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let v = Double(parts[1]) else {
                throw .badLine(path: "rerank.txt", line: n + 1, reason: "expected: name value")
            }
            values[String(parts[0])] = v
        }
        var weights: [Double] = []
        for name in Self.names {
            guard let v = values[name] else { throw .badLine(path: "rerank.txt", line: 0, reason: "missing \(name)") }
            weights.append(v)
        }
        self.init(weights: weights, depth: Int(values["depth"] ?? 20))
    }

    /// The model bundled with the module.
    public static let bundled: Reranker = {
        do {
            guard let url = Bundle.module.url(forResource: "rerank", withExtension: "txt", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "rerank", withExtension: "txt") else {
                throw KnowledgeBaseError.unreadable(path: "rerank.txt", reason: "missing from the FAQBot bundle")
            }
            return try Reranker(text: try String(contentsOf: url, encoding: .utf8))
        } catch {
            preconditionFailure("BUG: FAQBot reranker unreadable: \(error)")
        }
    }()

    /// The score of one candidate's features.
    @inline(__always)
    public func score(_ features: [Double]) -> Double {
        var z = 0.0
        for (w, x) in zip(weights, features) { z += w * x }
        return z
    }
}

/// The message-side sets the reranker's features compare against, built once per message.
struct QuerySide {
    /// Message units compared by longest common subsequence (bounds the work).
    static let lcsUnits = 160

    let soundBigrams: Set<UInt64>
    let unitBigrams: Set<UInt64>
    let sounds: [UInt32]
    let soundSet: Set<UInt32>

    init(_ text: NormalizedText) {
        var sb = Set<UInt64>(), ub = Set<UInt64>()
        let u = text.units, s = text.sounds
        if u.count > 1 {
            sb.reserveCapacity(u.count)
            ub.reserveCapacity(u.count)
            for i in 0..<(u.count - 1) {
                sb.insert(UInt64(s[i]) << 32 | UInt64(s[i + 1]))
                ub.insert(Terms.key(.bigram, u[i], u[i + 1]))
            }
        }
        soundBigrams = sb
        unitBigrams = ub
        sounds = Array(s.prefix(Self.lcsUnits))
        soundSet = Set(s)
    }

    /// Best over the phrasings: distinct sound bigrams of the phrasing present in the message,
    /// over the phrasing's distinct sound bigrams.
    func soundCoverage(_ phrasings: [[UInt32]]) -> Double {
        var best = 0.0
        for p in phrasings where p.count > 1 {
            var seen = Set<UInt64>()
            var have = 0
            for i in 0..<(p.count - 1) {
                let key = UInt64(p[i]) << 32 | UInt64(p[i + 1])
                guard seen.insert(key).inserted else { continue }
                if soundBigrams.contains(key) { have += 1 }
            }
            best = max(best, Double(have) / Double(seen.count))
        }
        return best
    }

    /// Best over the phrasings: longest common subsequence of sounds over the phrasing's length.
    func lcsRatio(_ phrasings: [[UInt32]]) -> Double {
        guard !sounds.isEmpty else { return 0 }
        var best = 0.0
        var row = [Int32](repeating: 0, count: SearchIndex.phrasingUnits + 1)
        for p in phrasings where !p.isEmpty {
            let m = p.count
            for j in 0...m { row[j] = 0 }
            row.withUnsafeMutableBufferPointer { r in
                p.withUnsafeBufferPointer { pb in
                    for a in sounds {
                        var diag: Int32 = 0  // r[j-1] of the previous row
                        for j in 1...m {
                            let up = r[j]
                            r[j] = pb[j - 1] == a ? diag + 1 : max(up, r[j - 1])
                            diag = up
                        }
                    }
                }
            }
            best = max(best, Double(row[m]) / Double(m))
        }
        return best
    }

    /// Share of the category's character bigrams present in the message.
    func categoryHit(_ bigrams: [UInt64]) -> Double {
        guard !bigrams.isEmpty else { return 0 }
        var have = 0
        for b in bigrams where unitBigrams.contains(b) { have += 1 }
        return Double(have) / Double(bigrams.count)
    }
}
