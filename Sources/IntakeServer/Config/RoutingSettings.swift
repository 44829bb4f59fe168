// IntakeServer/Config: the `routing` section of the config file: the router's timers and
// relaxation, the session lifecycle (reopen window, inactivity, wrap-up) and the classification
// rules with the emergency class. Parsed once at start-up, every problem collected (exit 2);
// immutable afterwards and read by the core thread.
import IntakeCore
import IntakeJSON

/// Everything `routing` in the config file sets (docs/ROUTING.md, "Configuration").
public struct RoutingSettings: Sendable, Equatable {
    /// Offer timeout, grace period, timeouts before away, stickiness, relaxation, anti-starvation.
    public var router: RouterConfig
    /// A citizen writing within this after a close reopens the session (seconds; 0: never).
    public var reopenWindowSeconds = 600.0
    /// An assigned session with no message either way for this long is closed (seconds; 0: never).
    public var inactivitySeconds = 1800.0
    /// What the citizen is told when a session closes for inactivity.
    public var inactivityMessage = "由于长时间没有新消息，本次会话已结束。如需继续咨询，请直接回复。"
    /// After closing a session the agent's slot stays taken this long (seconds; 0: freed at once).
    public var wrapUpSeconds = 0.0
    /// A waiting session's first this-many messages are classified again (an emergency raises it).
    public var firstMessages = 3
    /// The classification rules and the emergency class.
    public var rules = ClassificationRules()

    /// The defaults (the router's own, but anti-starvation after 10 minutes as the queues use).
    public init() {
        router = RouterConfig()
        router.defaultStarvationLimitMillis = BrokerState.starvationLimitMillis
    }

    /// The session settings of the BrokerState.
    var brokerSettings: BrokerSettings {
        var s = BrokerSettings()
        s.reopenWindowMillis = EpochMillis(reopenWindowSeconds * 1000)
        s.firstMessages = firstMessages
        s.rules = rules
        return s
    }

    static let keys: Set<String> = [
        "offerTimeoutSeconds", "graceSeconds", "maxConsecutiveTimeouts", "stickySeconds", "relaxation", "starvationSeconds",
        "chatBlocksVoice", "reopenWindowSeconds", "inactivitySeconds", "inactivityMessage", "wrapUpSeconds", "firstMessages",
        "rules", "emergency",
    ]

    /// Parses the `routing` object; problems name the key, e.g. `routing.offerTimeoutSeconds: must be a number > 0`.
    static func parse(_ json: JSON, source: String, problems: inout [String]) -> RoutingSettings {
        var s = RoutingSettings()
        guard let members = json.objectValue else {
            problems.append("\(source): must be an object")
            return s
        }
        let before = problems.count
        for (key, _) in members where !keys.contains(key) { problems.append("\(source).\(key): unknown key") }
        func seconds(_ key: String, min: Double, strict: Bool) -> Double? {
            guard let v = json[key] else { return nil }
            guard let d = v.doubleValue, d.isFinite, strict ? d > min : d >= min, d <= 365 * 86_400 else {
                problems.append("\(source).\(key): must be a number of seconds \(strict ? ">" : ">=") \(Int(min))")
                return nil
            }
            return d
        }
        func millis(_ d: Double) -> EpochMillis { EpochMillis((d * 1000).rounded()) }
        if let d = seconds("offerTimeoutSeconds", min: 0, strict: true) { s.router.offerTimeoutMillis = max(1, millis(d)) }
        if let d = seconds("graceSeconds", min: 0, strict: false) { s.router.graceMillis = millis(d) }
        if let d = seconds("stickySeconds", min: 0, strict: false) { s.router.stickyMillis = millis(d) }
        if let d = seconds("starvationSeconds", min: 0, strict: false) {
            s.router.defaultStarvationLimitMillis = d == 0 ? nil : millis(d)
        }
        if let d = seconds("reopenWindowSeconds", min: 0, strict: false) { s.reopenWindowSeconds = d }
        if let d = seconds("inactivitySeconds", min: 0, strict: false) { s.inactivitySeconds = d }
        if let d = seconds("wrapUpSeconds", min: 0, strict: false) { s.wrapUpSeconds = d }
        if let v = json["maxConsecutiveTimeouts"] {
            if let n = v.intValue, (1...100).contains(n) { s.router.maxConsecutiveTimeouts = Int(n) } else {
                problems.append("\(source).maxConsecutiveTimeouts: must be an integer from 1 to 100")
            }
        }
        if let v = json["firstMessages"] {
            if let n = v.intValue, (1...100).contains(n) { s.firstMessages = Int(n) } else {
                problems.append("\(source).firstMessages: must be an integer from 1 to 100")
            }
        }
        if let v = json["chatBlocksVoice"] {
            if let b = v.boolValue { s.router.chatBlocksVoice = b } else { problems.append("\(source).chatBlocksVoice: must be true or false") }
        }
        if let v = json["inactivityMessage"] {
            if let t = v.stringValue, !t.isEmpty, t.utf8.count <= EnvelopeLimits.maxTextBytes { s.inactivityMessage = t } else {
                problems.append("\(source).inactivityMessage: must be a non-empty string")
            }
        }
        if let v = json["relaxation"] { s.router.relaxation = parseRelaxation(v, source: source + ".relaxation", problems: &problems) }
        var rules: [ClassificationRule] = []
        var emergency = EmergencyClass()
        if let v = json["rules"] { rules = ClassificationRules.decodeRules(v, source: source + ".rules", problems: &problems) }
        if let v = json["emergency"] { emergency = ClassificationRules.decodeEmergency(v, source: source + ".emergency", problems: &problems) }
        s.rules = ClassificationRules(rules: rules, emergency: emergency)
        if problems.count == before {
            for p in s.router.problems() { problems.append("\(source): \(p)") }
        }
        return s
    }

    /// `[{"afterSeconds": 60, "lowerProficiencyBy": 1}, {"afterSeconds": 180, "overflowSkill": "general", "minProficiency": 1}]`
    static func parseRelaxation(_ json: JSON, source: String, problems: inout [String]) -> [RelaxationStep] {
        guard let items = json.arrayValue else {
            problems.append("\(source): must be an array of steps")
            return []
        }
        var steps: [RelaxationStep] = []
        for (i, item) in items.enumerated() {
            let src = "\(source)[\(i)]"
            guard let members = item.objectValue else { problems.append("\(src): must be an object"); continue }
            let known: Set<String> = ["afterSeconds", "lowerProficiencyBy", "overflowSkill", "minProficiency"]
            for (k, _) in members where !known.contains(k) { problems.append("\(src).\(k): unknown key") }
            guard let after = item["afterSeconds"]?.doubleValue, after > 0, after.isFinite else {
                problems.append("\(src).afterSeconds: must be a number of seconds > 0")
                continue
            }
            let at = EpochMillis((after * 1000).rounded())
            if let by = item["lowerProficiencyBy"] {
                guard item["overflowSkill"] == nil else { problems.append("\(src): either lowerProficiencyBy or overflowSkill, not both"); continue }
                guard let n = by.intValue, (1...4).contains(n) else { problems.append("\(src).lowerProficiencyBy: must be 1-4"); continue }
                steps.append(RelaxationStep(afterMillis: at, .lowerProficiency(by: Int(n))))
            } else if let skill = item["overflowSkill"]?.stringValue, !skill.isEmpty {
                let p = item["minProficiency"]?.intValue ?? 1
                guard (1...5).contains(p) else { problems.append("\(src).minProficiency: must be 1-5"); continue }
                steps.append(RelaxationStep(afterMillis: at, .addOverflowSkill(skill, minProficiency: Int(p))))
            } else {
                problems.append("\(src): needs lowerProficiencyBy (1-4) or overflowSkill (a skill name)")
            }
        }
        return steps
    }
}
