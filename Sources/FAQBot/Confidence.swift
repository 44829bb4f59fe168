// FAQBot: the probability that the top candidate is right, from a logistic model over match
// features fitted offline (Ops/faq/fit_models.py) on the tuning part of the dev queries and
// committed as Resources/confidence.txt. Value types; any thread.
import Foundation

/// The features of one ranked message that the confidence model reads.
public struct ConfidenceFeatures: Sendable, Equatable {
    /// Names in model order; the resource file uses these names.
    /// rerank / rerankMargin: the top candidate's reranker score and its lead over the second;
    /// softmaxTop: its softmax share over the reranked pool; score, questionCoverage, keywordHit,
    /// missedContent: the top candidate's first-stage evidence; agree: 1 when the reranker kept
    /// the first stage's top entry; logLength, asks: about the message; entryMissed: the top
    /// candidate's (see `Reranker.names`).
    public static let names = ["rerank", "rerankMargin", "softmaxTop", "score", "questionCoverage", "keywordHit",
                               "missedContent", "agree", "logLength", "asks", "entryMissed"]

    /// The values in `names` order.
    public let values: [Double]

    /// The features of `result` (which must have at least one candidate).
    public init(_ result: MatchResult) {
        let c = result.candidates
        let r1 = c.first?.rerankScore ?? 0
        values = [
            r1,
            c.count > 1 ? min(r1 - c[1].rerankScore, 10) : 10,
            result.softmaxTop,
            c.first?.score ?? 0,
            c.first?.questionCoverage ?? 0,
            (c.first?.keywordHits ?? 0) > 0 ? 1 : 0,
            c.first?.missedContent ?? 1,
            c.first.map { $0.entryIndex == result.firstStageTop } == true ? 1 : 0,
            log(1 + Double(result.text.count)),
            Self.asks(result.text.text) ? 1 : 0,
            c.first?.features[10] ?? 1,
        ]
    }

    /// True when the message reads as a question (an interrogative word or particle).
    static func asks(_ text: String) -> Bool {
        ["吗", "么", "如何", "哪", "什么", "谁", "多少", "几", "能不能", "可不可以", "可以", "是否",
         "要不要", "有没有", "咋", "怎", "啥", "呢", "多久", "多长"].contains(where: text.contains)
    }
}

/// A logistic model: P(top candidate right) = σ(bias + Σ wᵢ·xᵢ), and the threshold chosen on
/// the tuning data.
public struct ConfidenceModel: Sendable, Equatable {
    /// Intercept.
    public let bias: Double
    /// One weight per feature, in `ConfidenceFeatures.names` order.
    public let weights: [Double]
    /// Answer when the probability is at least this.
    public let threshold: Double

    /// A model from its coefficients.
    public init(bias: Double, weights: [Double], threshold: Double) {
        precondition(weights.count == ConfidenceFeatures.names.count, "BUG: one weight per feature")
        self.bias = bias
        self.weights = weights
        self.threshold = threshold
    }

    /// Parses "name value" lines (`bias`, `threshold` and one per feature; `#` comments).
    public init(text: String) throws(KnowledgeBaseError) {
        var values: [String: Double] = [:]
        for (n, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let v = Double(parts[1]) else {
                throw .badLine(path: "confidence.txt", line: n + 1, reason: "expected: name value")
            }
            values[String(parts[0])] = v
        }
        var weights: [Double] = []
        for name in ["bias", "threshold"] + ConfidenceFeatures.names {
            guard let v = values[name] else { throw .badLine(path: "confidence.txt", line: 0, reason: "missing \(name)") }
            weights.append(v)
        }
        self.init(bias: weights[0], weights: Array(weights[2...]), threshold: weights[1])
    }

    /// The model bundled with the module.
    public static let bundled: ConfidenceModel = {
        do {
            guard let url = Bundle.module.url(forResource: "confidence", withExtension: "txt", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "confidence", withExtension: "txt") else {
                throw KnowledgeBaseError.unreadable(path: "confidence.txt", reason: "missing from the FAQBot bundle")
            }
            return try ConfidenceModel(text: try String(contentsOf: url, encoding: .utf8))
        } catch {
            preconditionFailure("BUG: FAQBot confidence model unreadable: \(error)")
        }
    }()

    /// P(the top candidate is right).
    public func probability(_ features: ConfidenceFeatures) -> Double {
        var z = bias
        for (w, x) in zip(weights, features.values) { z += w * x }
        return 1 / (1 + exp(-z))
    }
}
