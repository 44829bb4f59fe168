// IntakeServer/Bot: the FAQ bot's worker: one serial DispatchQueue ("intake-bot") scores citizen
// messages against the current knowledge base, off the core thread and off the I/O loops, and
// hands each decision back to the core as a command (BrokerCore+Bot.swift). Also: the knowledge
// base reload (SIGHUP and POST /api/v1/kb/reload; a bad file keeps the old one) and the WeChat
// passive-reply waiters by dedupe key. Thread-safe: the bot and the waiters are behind locks.
import Dispatch
import FAQBot
import Foundation
import IntakeCore
import IntakeTelemetry
import Synchronization

/// One message for the bot to decide on (or, `decide: false`, only to categorise for surge detection).
struct BotJob: Sendable {
    var session: String
    /// The citizen message's seq (the decision covers every message up to it).
    var seq: Int
    var text: String
    /// The citizen's turn (1-based) for `maxTurns`.
    var turn: Int
    /// The conversation before this message.
    var history: [Turn]
    /// Decide (a bot session) or only categorise (a new session that went to the queue).
    var decide: Bool
    /// The session's first message: its top category feeds surge detection.
    var firstMessage: Bool
    /// A WeChat callback waiting for a passive reply.
    var waiter: BotWaiter?
}

/// What the bot made of a job.
struct BotOutcome: Sendable {
    var job: BotJob
    var decision: BotDecision
    /// The top candidate's category and keywords ("" / [] when nothing matched).
    var category: String
    var keywords: [String]
    var topEntry: String
    var confidence: Double
}

let kbEntries = MetricsRegistry.shared.gauge("intake_knowledge_base_entries", help: "Entries in the FAQ knowledge base in use.")
let kbReloadFailures = MetricsRegistry.shared.counter(
    "intake_knowledge_base_reload_failures_total", help: "Knowledge-base reloads refused (the previous knowledge base stays in use).")
let botAnswered = MetricsRegistry.shared.counter(
    "intake_bot_replies_total", help: "Citizen messages the FAQ bot decided on, by outcome.", labels: ["outcome": "answered"])
let botHandedOff = MetricsRegistry.shared.counter(
    "intake_bot_replies_total", help: "Citizen messages the FAQ bot decided on, by outcome.", labels: ["outcome": "handed_off"])

/// The bot worker and its knowledge base.
final class BotService: Sendable {
    let settings: BotSettings
    private let bot: Mutex<Bot>
    private let queue = DispatchQueue(label: "intake-bot", qos: .userInitiated)
    private let waiters = Mutex<[String: BotWaiter]>([:])
    /// Serialises reloads (two at once would race on which one wins).
    private let reloading = Mutex<Void>(())

    /// The repo's sample knowledge base, relative to the repo root.
    static let samplePath = "Ops/samples/kb.jsonl"

    init(knowledgeBase: KnowledgeBase, settings: BotSettings) {
        self.settings = settings
        bot = Mutex(Bot(knowledgeBase: knowledgeBase, policy: Self.policy(settings)))
        kbEntries.set(Double(knowledgeBase.entries.count))
        _ = (botAnswered, botHandedOff, kbReloadFailures)
    }

    static func policy(_ s: BotSettings) -> BotPolicy { BotPolicy(threshold: s.threshold, maxTurns: s.maxTurns, suggestionCount: 3) }

    /// Loads the knowledge base at `path` (nil: the repo's sample, found like the agent directory).
    static func load(path: String?, settings: BotSettings) throws(BrokerStartError) -> BotService? {
        guard let file = path ?? findSample() else {
            if settings.enabled { Log.warning("FAQ bot: no knowledge base found (give --kb); the bot is off", [:]) }
            return nil
        }
        do {
            let kb = try KnowledgeBase.load(path: file)
            Log.info("FAQ bot: knowledge base loaded", ["file": .string(file), "entries": .int(kb.entries.count),
                                                        "channels": .string(settings.activeChannels.map(\.rawValue).sorted().joined(separator: ","))])
            return BotService(knowledgeBase: kb, settings: settings)
        } catch {
            throw .agents("the knowledge base \(error)")
        }
    }

    /// The repo's sample knowledge base (`RepoFile.find`).
    static func findSample() -> String? { RepoFile.find(samplePath) }

    /// The knowledge base in use.
    var knowledgeBase: KnowledgeBase { bot.withLock { $0.matcher.knowledgeBase } }

    /// Scores `job` on the bot queue and hands the outcome to `done` (which enqueues it for the core).
    func submit(_ job: BotJob, done: @escaping @Sendable (BotOutcome) -> Void) {
        queue.async { [self] in
            let current = bot.withLock { $0 }
            let (result, p, decision) = current.evaluate(job.text, turn: job.turn, history: job.history)
            var category = "", keywords: [String] = [], top = ""
            if let c = result.candidates.first {
                let e = current.matcher.knowledgeBase.entries[c.entryIndex]
                category = e.category
                keywords = e.keywords
                top = e.id
            }
            done(BotOutcome(job: job, decision: decision, category: category, keywords: keywords, topEntry: top, confidence: p))
        }
    }

    /// Reloads the knowledge base from its file (or `path`); a bad file keeps the old one.
    /// Blocking (reads and indexes): call it from the control plane, never from a loop or the core.
    func reload(path: String? = nil) -> Result<KnowledgeBase, KnowledgeBaseError> {
        reloading.withLock { _ in
            let target = path ?? knowledgeBase.path
            switch Result(catching: { () throws(KnowledgeBaseError) in try KnowledgeBase.load(path: target) }) {
            case .success(let kb):
                let fresh = Bot(knowledgeBase: kb, policy: Self.policy(settings))
                bot.withLock { $0 = fresh }
                kbEntries.set(Double(kb.entries.count))
                Log.info("FAQ bot: knowledge base reloaded", ["file": .string(target), "entries": .int(kb.entries.count)])
                return .success(kb)
            case .failure(let error):
                kbReloadFailures.increment()
                Log.warning("FAQ bot: knowledge base reload refused; the previous one stays in use",
                            ["file": .string(target), "error": .string(error.description)])
                return .failure(error)
            }
        }
    }

    // MARK: WeChat passive replies

    func addWaiter(_ key: String, _ w: BotWaiter) { waiters.withLock { $0[key] = w } }
    func takeWaiter(_ key: String) -> BotWaiter? { waiters.withLock { $0.removeValue(forKey: key) } }
}
