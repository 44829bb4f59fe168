// FAQBot: the decision for one citizen message — answer from the knowledge base, or hand over to
// a person with the transcript and the top candidates as suggestions. Pure over an immutable
// knowledge base; any thread, but scoring a large knowledge base is work: not on an I/O loop.

/// One line of the conversation, for the transcript handed to the agent.
public struct Turn: Sendable, Equatable {
    /// Who said it.
    public enum Speaker: String, Sendable, Equatable { case citizen, bot }
    /// Who said it.
    public let speaker: Speaker
    /// What was said.
    public let text: String

    /// A transcript line.
    public init(_ speaker: Speaker, _ text: String) {
        self.speaker = speaker
        self.text = text
    }
}

/// What the bot does with one message.
public enum BotDecision: Sendable, Equatable {
    /// Reply with `entry.answer`; `confidence` is P(right) from the calibrated model.
    case answer(Entry, confidence: Double)
    /// Give the conversation to a person: why, the best candidates as suggestions for the agent,
    /// and the transcript including this message.
    case handOver(reason: HandOverReason, suggestions: [Candidate], transcript: [Turn])
}

/// The bot's tunables.
public struct BotPolicy: Sendable, Equatable {
    /// Answer only when P(right) is at least this (default: the threshold fitted with the model).
    public var threshold: Double
    /// Citizen messages in one conversation after which the bot hands over instead of answering.
    public var maxTurns: Int
    /// Candidates passed to the agent on hand-over.
    public var suggestionCount: Int

    /// A policy; `threshold` nil means the bundled model's.
    public init(threshold: Double? = nil, maxTurns: Int = 5, suggestionCount: Int = 3) {
        self.threshold = threshold ?? ConfidenceModel.bundled.threshold
        self.maxTurns = maxTurns
        self.suggestionCount = suggestionCount
    }
}

/// The FAQ bot over one knowledge base.
public struct Bot: Sendable {
    /// The matcher in use.
    public let matcher: Matcher
    /// The confidence model in use.
    public let model: ConfidenceModel
    /// The hand-over phrase lists.
    public let rules: HandOverRules
    /// The tunables.
    public let policy: BotPolicy

    /// A bot over `knowledgeBase`.
    public init(knowledgeBase: KnowledgeBase, policy: BotPolicy = BotPolicy(),
                model: ConfidenceModel = .bundled, rules: HandOverRules = HandOverRules()) {
        self.matcher = Matcher(knowledgeBase)
        self.model = model
        self.rules = rules
        self.policy = policy
    }

    /// The full evaluation of one message: ranking, confidence and decision.
    public func evaluate(_ message: String, turn: Int = 1, history: [Turn] = []) -> (MatchResult, Double, BotDecision) {
        let result = matcher.match(message, k: max(policy.suggestionCount, 5))
        let suggestions = Array(result.candidates.prefix(policy.suggestionCount))
        let transcript = history + [Turn(.citizen, message)]
        let p = result.candidates.isEmpty ? 0 : model.probability(ConfidenceFeatures(result))
        if let reason = rules.reason(normalized: result.text.text, raw: message) {
            return (result, p, .handOver(reason: reason, suggestions: suggestions, transcript: transcript))
        }
        if turn > policy.maxTurns {
            return (result, p, .handOver(reason: .tooManyTurns, suggestions: suggestions, transcript: transcript))
        }
        guard let top = result.candidates.first, p >= policy.threshold else {
            return (result, p, .handOver(reason: .lowConfidence, suggestions: suggestions, transcript: transcript))
        }
        return (result, p, .answer(matcher.knowledgeBase.entries[top.entryIndex], confidence: p))
    }

    /// Decides what to do with `message`, the citizen's `turn`-th message (1-based) in this
    /// conversation; `history` is the conversation so far, passed on in the transcript.
    public func reply(to message: String, turn: Int = 1, history: [Turn] = []) -> BotDecision {
        evaluate(message, turn: turn, history: history).2
    }
}
