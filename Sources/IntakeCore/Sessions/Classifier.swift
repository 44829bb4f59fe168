// IntakeCore/Sessions: classification of a conversation from its first messages: which skills
// it needs and how urgent it is (docs/ROUTING.md, "Classification"). Pure values, built once
// from the configuration and read by the core thread (BrokerState.ingest); any thread may copy.
//
// Design
// - Fields the producer gave (`skills`, `priority` on the envelope) win; rules fill only what
//   is absent (CONTRACT.md: "set by the broker's rules when absent"). The first rule whose
//   every condition holds decides; no rule: queue `general`, priority 0.
// - The emergency class is checked on every classified message, before the rules: a keyword
//   such as 火灾 makes the session priority 9 (even over a priority the producer gave: a fire
//   must not wait behind routine work) and never goes to the bot. The stored envelope keeps
//   what the producer gave; the queue placement and the `enqueued` record carry the class.
// - Keywords match as substrings of the UTF-8 text, ASCII letters case-insensitively; no
//   allocation per message.
import IntakeJSON

/// A skill a session needs, with the minimum proficiency (1–5).
public struct SkillNeed: Sendable, Equatable {
    /// The skill's name.
    public var skill: String
    /// The minimum proficiency.
    public var minimum: Int

    /// `skill` at `minimum` or more.
    public init(_ skill: String, _ minimum: Int = 1) {
        self.skill = skill
        self.minimum = minimum
    }
}

/// One rule: when every condition given holds, the session gets `skills` and `priority`.
public struct ClassificationRule: Sendable, Equatable {
    /// Named in audit reasons ("rule enterprise").
    public var name: String
    /// Any of these channels (empty: any channel).
    public var channels: [Channel]
    /// Any of these accounts (empty: any account).
    public var accounts: [String]
    /// Any of these words in the text (empty: no condition on the text).
    public var keywords: [String]
    /// Every key must be in the envelope's meta with this value (an array value: any of them).
    public var meta: [(String, JSON)]
    /// Required skills, the first naming the queue (nil: the rule does not set skills).
    public var skills: [SkillNeed]?
    /// Priority 0–9 (nil: the rule does not set it).
    public var priority: Int?

    /// A rule; see the properties.
    public init(name: String, channels: [Channel] = [], accounts: [String] = [], keywords: [String] = [],
                meta: [(String, JSON)] = [], skills: [SkillNeed]? = nil, priority: Int? = nil) {
        self.name = name
        self.channels = channels
        self.accounts = accounts
        self.keywords = keywords
        self.meta = meta
        self.skills = skills
        self.priority = priority
    }

    public static func == (a: ClassificationRule, b: ClassificationRule) -> Bool {
        a.name == b.name && a.channels == b.channels && a.accounts == b.accounts && a.keywords == b.keywords
            && a.skills == b.skills && a.priority == b.priority
            && a.meta.count == b.meta.count && zip(a.meta, b.meta).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// The emergency class: keywords that make a conversation top priority.
public struct EmergencyClass: Sendable, Equatable {
    /// The default keywords: fire, gas leak, someone in the water, suicide, explosion.
    public static let defaultKeywords = ["火灾", "燃气泄漏", "有人落水", "自杀", "爆炸"]
    /// The priority of an emergency (the top one).
    public static let priority = 9
    /// Words that mark an emergency (empty: the class is off).
    public var keywords: [String] = EmergencyClass.defaultKeywords
    /// Skills an emergency needs when the producer gave none (nil: what the rules say).
    public var skills: [SkillNeed]?

    /// The default class.
    public init(keywords: [String] = EmergencyClass.defaultKeywords, skills: [SkillNeed]? = nil) {
        self.keywords = keywords
        self.skills = skills
    }
}

/// What classification decided for a session.
public struct Classification: Sendable, Equatable {
    /// The queue it waits in: its first required skill by name, or `general`.
    public var queue: String
    /// Required skills → minimum proficiency (`[queue: 1]` when nothing else was said).
    public var requirements: [String: Int]
    /// 0–9.
    public var priority: Int
    /// Matched the emergency class.
    public var emergency: Bool
    /// Whether the bot may answer it (never for emergencies).
    public var botAllowed: Bool
    /// Why, for the audit trail: "emergency keyword 火灾; rule enterprise (keyword 企业)".
    public var reason: String
    /// The skills and priority to write into the stored envelope where the producer gave none
    /// (nil: leave the field absent).
    public var envelopeSkills: [String]?
    public var envelopePriority: Int?
}

/// The classification rules of `routing.rules` plus the emergency class.
public struct ClassificationRules: Sendable, Equatable {
    /// Tried in order; the first that matches decides.
    public let rules: [ClassificationRule]
    /// The emergency class.
    public let emergency: EmergencyClass

    // Keywords as UTF-8 with ASCII letters lower-cased, per rule, built once.
    private var ruleKeywords: [[[UInt8]]]
    private var emergencyKeywords: [[UInt8]]

    /// Rules and the emergency class (by default only the default emergency keywords).
    public init(rules: [ClassificationRule] = [], emergency: EmergencyClass = EmergencyClass()) {
        self.rules = rules
        self.emergency = emergency
        ruleKeywords = rules.map { $0.keywords.map(Self.folded) }
        emergencyKeywords = emergency.keywords.map(Self.folded)
    }

    public static func == (a: ClassificationRules, b: ClassificationRules) -> Bool {
        a.rules == b.rules && a.emergency == b.emergency
    }

    /// Classifies a message: the producer's `givenSkills`/`givenPriority` win, then the
    /// emergency class, then the first matching rule, then the defaults.
    public func classify(channel: Channel, account: String, text: String?, meta: JSON,
                         givenSkills: [String]?, givenPriority: Int?) -> Classification {
        var reasons: [String] = []
        var emergencyWord: String?
        if let text, !emergencyKeywords.isEmpty {
            emergencyWord = Self.firstMatch(emergencyKeywords, in: text).map { emergency.keywords[$0] }
        }
        var matched: (rule: ClassificationRule, keyword: String?)?
        for (i, rule) in rules.enumerated() {
            if let kw = matches(i, rule, channel: channel, account: account, text: text, meta: meta) {
                matched = (rule, kw)
                break
            }
        }
        if let w = emergencyWord { reasons.append("emergency keyword \(w)") }
        if let m = matched { reasons.append("rule \(m.rule.name)" + (m.keyword.map { " (keyword \($0))" } ?? "")) }

        var skills: [SkillNeed]?
        var envelopeSkills: [String]?
        if let given = givenSkills, !given.isEmpty {
            skills = given.map { SkillNeed($0) }
            reasons.append("skills from the envelope")
        } else if emergencyWord != nil, let s = emergency.skills, !s.isEmpty {
            skills = s
            envelopeSkills = s.map(\.skill)
        } else if let s = matched?.rule.skills, !s.isEmpty {
            skills = s
            envelopeSkills = s.map(\.skill)
        }
        var priority: Int
        var envelopePriority: Int?
        if let given = givenPriority {
            priority = given
            if emergencyWord == nil { reasons.append("priority from the envelope") }
        } else if let p = matched?.rule.priority {
            priority = p
            envelopePriority = p
        } else {
            priority = 0
        }
        if emergencyWord != nil {
            priority = EmergencyClass.priority
            if givenPriority == nil { envelopePriority = EmergencyClass.priority }
        }
        // The queue is the first skill named; the session needs every skill named.
        let queue = skills?.first?.skill ?? BrokerState.defaultQueue
        var requirements: [String: Int] = [:]
        for need in skills ?? [SkillNeed(queue)] { requirements[need.skill] = max(requirements[need.skill] ?? 0, need.minimum) }
        if reasons.isEmpty { reasons.append("default") }
        return Classification(queue: queue, requirements: requirements, priority: priority, emergency: emergencyWord != nil,
                              botAllowed: emergencyWord == nil, reason: reasons.joined(separator: "; "),
                              envelopeSkills: givenSkills == nil ? envelopeSkills : nil,
                              envelopePriority: givenPriority == nil ? envelopePriority : nil)
    }

    /// Classifies an envelope (see the other `classify`).
    public func classify(_ e: Envelope) -> Classification {
        classify(channel: e.channel, account: e.account, text: e.text, meta: e.meta, givenSkills: e.skills, givenPriority: e.priority)
    }

    /// The first emergency keyword in `text`, if any.
    public func emergencyKeyword(in text: String) -> String? {
        Self.firstMatch(emergencyKeywords, in: text).map { emergency.keywords[$0] }
    }

    /// nil when the rule does not match; else the keyword that matched ("" → nil when the
    /// rule has no keywords).
    private func matches(_ i: Int, _ rule: ClassificationRule, channel: Channel, account: String, text: String?,
                         meta: JSON) -> String?? {
        if !rule.channels.isEmpty && !rule.channels.contains(channel) { return nil }
        if !rule.accounts.isEmpty && !rule.accounts.contains(account) { return nil }
        for (key, want) in rule.meta {
            guard let have = meta[key] else { return nil }
            if case .array(let options) = want {
                if !options.contains(have) { return nil }
            } else if have != want {
                return nil
            }
        }
        if rule.keywords.isEmpty { return .some(nil) }
        guard let text, let k = Self.firstMatch(ruleKeywords[i], in: text) else { return nil }
        return .some(rule.keywords[k])
    }

    // MARK: matching

    static func folded(_ s: String) -> [UInt8] { s.utf8.map(foldASCII) }

    @inline(__always)
    static func foldASCII(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    /// The index of the first needle (in list order) found in `text`.
    static func firstMatch(_ needles: [[UInt8]], in text: String) -> Int? {
        var text = text
        return text.withUTF8 { hay -> Int? in
            for (i, n) in needles.enumerated() where contains(hay, n) { return i }
            return nil
        }
    }

    /// Whether `needle` (already folded) occurs in `hay`, ASCII letters folded.
    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        let m = needle.count, n = hay.count
        guard m > 0 else { return true }
        guard m <= n else { return false }
        let first = needle[0]
        var i = 0
        while i <= n - m {
            if foldASCII(hay[i]) == first {
                var j = 1
                while j < m && foldASCII(hay[i + j]) == needle[j] { j += 1 }
                if j == m { return true }
            }
            i += 1
        }
        return false
    }
}
