// FAQBot: offline evaluation over labelled queries — the deterministic tuning / held-aside split,
// top-1 / top-3, auto-answer and wrong-answer rates, hand-over of out-of-scope queries and
// per-query latency. Used by `intake-bench faq` and the regression tests. Single-threaded.
import Foundation
import IntakeJSON

/// One labelled query: `gold` nil means the bot must hand over.
package struct LabelledQuery: Sendable {
    package let query: String
    package let gold: String?
    package let alt: [String]

    /// Every entry id that fully answers the query.
    package var acceptable: [String] { (gold.map { [$0] } ?? []) + alt }

    package init(query: String, gold: String?, alt: [String] = []) {
        self.query = query
        self.gold = gold
        self.alt = alt
    }

    /// Reads `{"query","gold","alt"?}` lines.
    package static func load(path: String) throws(KnowledgeBaseError) -> [LabelledQuery] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        var out: [LabelledQuery] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let json = try? JSON.parse(String(line)), let q = json["query"]?.stringValue else {
                throw .badLine(path: path, line: n + 1, reason: "expected {\"query\":…,\"gold\":…}")
            }
            var alt: [String] = []
            if case .array(let items)? = json["alt"] { alt = items.compactMap(\.stringValue) }
            out.append(LabelledQuery(query: q, gold: json["gold"]?.stringValue, alt: alt))
        }
        return out
    }
}

/// Which part of the dev data to use.
package enum Split: String, Sendable {
    case tuning, heldout, all

    /// The deterministic split: FNV-1a 64 of the query's UTF-8 bytes, mod 10; 0–3 held aside (≈40%).
    /// Ops/faq/*.py compute the same function.
    package static func isHeldOut(_ query: String) -> Bool {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in query.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h % 10 < 4
    }

    package func includes(_ query: String) -> Bool {
        switch self {
        case .all: return true
        case .heldout: return Self.isHeldOut(query)
        case .tuning: return !Self.isHeldOut(query)
        }
    }
}

/// The figures of one evaluation run.
package struct EvaluationReport: Sendable {
    package var queries = 0
    package var inScope = 0
    package var top1 = 0
    package var top3 = 0
    package var autoAnswers = 0
    package var wrongAuto = 0
    package var outOfScope = 0
    package var outOfScopeHandedOver = 0
    package var inScopeAnswered = 0
    /// Per-query latency in milliseconds, sorted.
    package var latenciesMs: [Double] = []
    /// For fitting the reranker and the confidence model (Ops/faq/fit_models.py): per query a
    /// line `Q asks logLength inScope`, then one line per first-stage candidate of the reranker's
    /// pool, in first-stage order: `C label` and the reranker features.
    package var featureRows: [String] = []
    /// Queries the bot got wrong while answering (for the report).
    package var wrongExamples: [String] = []
    /// In-scope queries whose top candidate is not acceptable.
    package var missExamples: [String] = []

    package var top1Rate: Double { ratio(top1, inScope) }
    package var top3Rate: Double { ratio(top3, inScope) }
    package var autoAnswerRate: Double { ratio(autoAnswers, queries) }
    package var wrongAmongAuto: Double { ratio(wrongAuto, autoAnswers) }
    package var outOfScopeHandedOff: Double { ratio(outOfScopeHandedOver, outOfScope) }
    package var inScopeAutoRate: Double { ratio(inScopeAnswered, inScope) }

    package func percentileMs(_ p: Double) -> Double {
        guard !latenciesMs.isEmpty else { return .nan }
        let i = min(latenciesMs.count - 1, Int((p / 100 * Double(latenciesMs.count)).rounded(.up)) - 1)
        return latenciesMs[max(i, 0)]
    }

    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? .nan : Double(a) / Double(b) }
}

/// Runs `bot` over `queries` and scores it.
package func evaluate(_ bot: Bot, _ queries: [LabelledQuery]) -> EvaluationReport {
    var r = EvaluationReport()
    let clock = ContinuousClock()
    for q in queries {
        let started = clock.now
        let (result, p, decision) = bot.evaluate(q.query)
        let elapsed = clock.now - started
        r.latenciesMs.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
        r.queries += 1
        let ids = result.candidates.map(\.entryID)
        let right = !q.acceptable.isEmpty && ids.first.map(q.acceptable.contains) == true
        let conf = ConfidenceFeatures(result).values
        r.featureRows.append("Q \(conf[9]) \(conf[8]) \(q.gold != nil ? 1 : 0)")
        let pool = bot.matcher.match(q.query, k: bot.matcher.reranker.depth).candidates
            .sorted { $0.features[9] > $1.features[9] }
        for c in pool {
            r.featureRows.append("C \(q.acceptable.contains(c.entryID) ? 1 : 0) " + c.features.map { String($0) }.joined(separator: " "))
        }
        if q.gold != nil {
            r.inScope += 1
            if right {
                r.top1 += 1
            } else {
                let top = result.candidates.first.map { "\($0.entryID) \(bot.matcher.knowledgeBase.entries[$0.entryIndex].question)" }
                r.missExamples.append("\(q.query) → \(top ?? "none"), gold \(q.gold ?? "")")
            }
            if ids.prefix(3).contains(where: q.acceptable.contains) { r.top3 += 1 }
        } else {
            r.outOfScope += 1
        }
        switch decision {
        case .answer(let entry, _):
            r.autoAnswers += 1
            if q.gold != nil { r.inScopeAnswered += 1 }
            if !q.acceptable.contains(entry.id) {
                r.wrongAuto += 1
                r.wrongExamples.append("\(q.query) → \(entry.id) \(entry.question) (p=\(String(format: "%.2f", p)), gold \(q.gold ?? "null"))")
            }
        case .handOver:
            if q.gold == nil { r.outOfScopeHandedOver += 1 }
        }
    }
    r.latenciesMs.sort()
    return r
}
