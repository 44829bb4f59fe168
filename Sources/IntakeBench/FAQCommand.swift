// `intake-bench faq`: the FAQ bot's accuracy, hand-over behaviour and per-query latency over a
// labelled query file, optionally with the knowledge base padded with distractor entries.
// In-process, one thread (the main thread); run a release build for latency figures.
import FAQBot
import Glibc

enum FAQCommand {
    static let subcommand = Subcommand(
        name: "faq",
        synopsis: "--kb FILE --queries FILE [--pad-to N --pad-with FILE] [--threshold T] [--split heldout|tuning|all]",
        summary: "FAQ bot: top-1/top-3, auto-answers, wrong answers, hand-over of out-of-scope queries, latency",
        options: [
            OptionSpec("--kb", "knowledge base JSONL (default Ops/samples/kb.jsonl)"),
            OptionSpec("--queries", "labelled queries JSONL {query, gold, alt?} (required)"),
            OptionSpec("--pad-to", "pad the knowledge base to N entries (at most 200000)"),
            OptionSpec("--pad-with", "JSONL entries to pad with; cycled as distinct variants when short"),
            OptionSpec("--threshold", "answer when P(right) >= T (default: the bundled model's)"),
            OptionSpec("--split", "heldout, tuning or all (default all): the dev split by query hash"),
            OptionSpec("--passes", "timed passes over the queries for latency (default 3, 1..50)"),
            OptionSpec("--dump-features", "write per query its reranker pool: features and labels (for Ops/faq/fit_models.py)"),
            OptionSpec("--show-wrong", value: false, "print the wrong auto-answers and the top-1 misses"),
        ],
        run: run)

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let kbPath = args.string("--kb") ?? "Ops/samples/kb.jsonl"
        let queriesPath = try args.require("--queries")
        guard let split = Split(rawValue: args.string("--split") ?? "all") else {
            throw UsageError("--split must be heldout, tuning or all")
        }
        let padTo = try args.int("--pad-to", default: 0, in: 0...200_000)
        let passes = try args.int("--passes", default: 3, in: 1...50)
        var entries: [Entry]
        let queries: [LabelledQuery]
        do {
            entries = try KnowledgeBase.load(path: kbPath).entries
            queries = try LabelledQuery.load(path: queriesPath).filter { split.includes($0.query) }
            if padTo > entries.count {
                guard let padPath = args.string("--pad-with") else { throw UsageError("--pad-to needs --pad-with") }
                let text = try readText(padPath)
                entries = pad(entries, with: try KnowledgeBase.parse(jsonl: text, path: padPath), to: padTo)
            }
        } catch let error as KnowledgeBaseError {
            throw UsageError(error.description)
        } catch let error as UsageError {
            throw error
        } catch {
            throw UsageError("\(error)")
        }
        let clock = ContinuousClock()
        let buildStart = clock.now
        let kb = KnowledgeBase(entries: entries, path: kbPath)
        let buildTime = clock.now - buildStart
        let threshold = try args.string("--threshold").map { _ throws(UsageError) in
            try args.double("--threshold", default: 0.5, in: 0...1)
        }
        let bot = Bot(knowledgeBase: kb, policy: BotPolicy(threshold: threshold))

        _ = evaluate(bot, queries)  // warm-up: caches, lazy tables
        var report = evaluate(bot, queries)
        for _ in 1..<passes { report.latenciesMs += evaluate(bot, queries).latenciesMs }
        report.latenciesMs.sort()

        say("intake-bench faq kb=\(kbPath) entries=\(kb.entries.count) queries=\(queriesPath) split=\(split.rawValue) "
            + "n=\(report.queries) (in scope \(report.inScope), out of scope \(report.outOfScope)) "
            + "threshold=\(fixed(bot.policy.threshold, 3)) index build \(fixed(ms(buildTime), 0)) ms")
        say("top-1 \(pct(report.top1Rate)) top-3 \(pct(report.top3Rate)) (in scope)")
        say("auto-answered \(pct(report.autoAnswerRate)) of all, \(pct(report.inScopeAutoRate)) of in scope; "
            + "wrong among auto-answers \(pct(report.wrongAmongAuto)) (\(report.wrongAuto)/\(report.autoAnswers)); "
            + "out of scope handed over \(pct(report.outOfScopeHandedOff))")
        say("latency per query p50 \(fixed(report.percentileMs(50), 3)) ms p99 \(fixed(report.percentileMs(99), 3)) ms "
            + "max \(fixed(report.latenciesMs.last ?? .nan, 3)) ms over \(report.latenciesMs.count) runs")
        if args.has("--show-wrong") {
            for line in report.wrongExamples { say("  wrong: " + line) }
            for line in report.missExamples { say("  top-1 miss: " + line) }
        }
        if let path = args.string("--dump-features") {
            let text = "# Q asks logLength inScope / C label " + Reranker.names.joined(separator: " ") + "\n"
                + report.featureRows.joined(separator: "\n") + "\n"
            guard let f = fopen(path, "w") else { throw UsageError("cannot write \(path)") }
            fputs(text, f)
            fclose(f)
        }
        var j = JSONLine()
        j.add("bench", "faq")
        j.add("entries", kb.entries.count)
        j.add("queries", report.queries)
        j.add("top1", report.top1Rate, digits: 4)
        j.add("top3", report.top3Rate, digits: 4)
        j.add("autoAnswerRate", report.autoAnswerRate, digits: 4)
        j.add("wrongAmongAuto", report.wrongAmongAuto, digits: 4)
        j.add("outOfScopeHandedOff", report.outOfScopeHandedOff, digits: 4)
        j.add("p50Ms", report.percentileMs(50), digits: 4)
        j.add("p99Ms", report.percentileMs(99), digits: 4)
        say(j.text)
        return 0
    }

    /// `entries` followed by `padding` entries until `target`: the padding file as is, then
    /// distinct variants (id suffix `~vK`, keywords borrowed from another entry) as needed.
    static func pad(_ entries: [Entry], with padding: [Entry], to target: Int) -> [Entry] {
        var out = entries
        var ids = Set(entries.map(\.id))
        var round = 0
        while out.count < target && !padding.isEmpty {
            for (i, e) in padding.enumerated() where out.count < target {
                let id = round == 0 ? e.id : "\(e.id)~v\(round)"
                guard ids.insert(id).inserted else { continue }
                if round == 0 {
                    out.append(e)
                } else {
                    let other = padding[(i * 7 + round * 131) % padding.count]
                    out.append(Entry(id: id, category: e.category, question: e.question,
                                     answer: other.answer, keywords: e.keywords + other.keywords))
                }
            }
            round += 1
        }
        return out
    }

    static func readText(_ path: String) throws(UsageError) -> String {
        guard let f = fopen(path, "r") else { throw UsageError("cannot read \(path)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
    }

    static func pct(_ x: Double) -> String { fixed(x * 100, 1) + "%" }
}
