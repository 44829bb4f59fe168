// Classification rules and the emergency class, table-driven: channel, account, keywords (ASCII
// case-insensitive, Chinese substrings), meta, rule order, what the producer gave, emergencies
// over given priorities; and the JSON decoding of `routing.rules` with its error paths.
import Testing
import IntakeCore
import IntakeJSON

@Suite(.timeLimit(.minutes(5)))
struct ClassificationTests {
    static let rules = ClassificationRules(rules: [
        ClassificationRule(name: "enterprise", keywords: ["营业执照", "企业"], skills: [SkillNeed("enterprise", 3)], priority: 4),
        ClassificationRule(name: "english", keywords: ["hello", "English"], skills: [SkillNeed("english"), SkillNeed("general")]),
        ClassificationRule(name: "vip-app", channels: [.app], accounts: ["cityapp"], meta: [("tier", .array(["gold", "vip"]))],
                           priority: 6),
        ClassificationRule(name: "phone", channels: [.phone], skills: [SkillNeed("voice_general")]),
    ])

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var channel: Channel = .web
        var account = "widget"
        var text: String?
        var meta: JSON = .object([])
        var skills: [String]?
        var priority: Int?
        // Expected:
        var queue: String
        var requirements: [String: Int]
        var classPriority: Int
        var emergency = false
        var reason: String
        var envelopeSkills: [String]?
        var envelopePriority: Int?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing matches", text: "路灯坏了", queue: "general", requirements: ["general": 1], classPriority: 0, reason: "default"),
        Case(name: "no text", text: nil, queue: "general", requirements: ["general": 1], classPriority: 0, reason: "default"),
        Case(name: "Chinese keyword", text: "我想办理营业执照", queue: "enterprise", requirements: ["enterprise": 3], classPriority: 4,
             reason: "rule enterprise (keyword 营业执照)", envelopeSkills: ["enterprise"], envelopePriority: 4),
        Case(name: "ASCII keyword, any case", text: "HELLO, can you help?", queue: "english",
             requirements: ["english": 1, "general": 1], classPriority: 0, reason: "rule english (keyword hello)",
             envelopeSkills: ["english", "general"]),
        Case(name: "first rule wins", text: "hello, 企业", queue: "enterprise", requirements: ["enterprise": 3], classPriority: 4,
             reason: "rule enterprise (keyword 企业)", envelopeSkills: ["enterprise"], envelopePriority: 4),
        Case(name: "channel, account and meta any-of", channel: .app, account: "cityapp", text: "x",
             meta: .object([("tier", "vip")]), queue: "general", requirements: ["general": 1], classPriority: 6,
             reason: "rule vip-app", envelopePriority: 6),
        Case(name: "meta value not listed", channel: .app, account: "cityapp", text: "x", meta: .object([("tier", "basic")]),
             queue: "general", requirements: ["general": 1], classPriority: 0, reason: "default"),
        Case(name: "other account", channel: .app, account: "other", text: "x", meta: .object([("tier", "vip")]),
             queue: "general", requirements: ["general": 1], classPriority: 0, reason: "default"),
        Case(name: "channel only", channel: .phone, account: "trunk1", text: "您好", queue: "voice_general",
             requirements: ["voice_general": 1], classPriority: 0, reason: "rule phone", envelopeSkills: ["voice_general"]),
        Case(name: "given skills and priority win", text: "营业执照", skills: ["tax"], priority: 2, queue: "tax",
             requirements: ["tax": 1], classPriority: 2,
             reason: "rule enterprise (keyword 营业执照); skills from the envelope; priority from the envelope"),
        Case(name: "given priority only: the rule's skills fill in", text: "营业执照", priority: 1, queue: "enterprise",
             requirements: ["enterprise": 3], classPriority: 1,
             reason: "rule enterprise (keyword 营业执照); priority from the envelope", envelopeSkills: ["enterprise"]),
        Case(name: "emergency", text: "楼下着火了，火灾！", queue: "general", requirements: ["general": 1], classPriority: 9,
             emergency: true, reason: "emergency keyword 火灾", envelopePriority: 9),
        Case(name: "emergency over a given priority (envelope keeps it)", text: "闻到燃气泄漏的味道", priority: 3, queue: "general",
             requirements: ["general": 1], classPriority: 9, emergency: true, reason: "emergency keyword 燃气泄漏"),
        Case(name: "emergency with a rule", text: "企业仓库爆炸", queue: "enterprise", requirements: ["enterprise": 3],
             classPriority: 9, emergency: true, reason: "emergency keyword 爆炸; rule enterprise (keyword 企业)",
             envelopeSkills: ["enterprise"], envelopePriority: 9),
    ]

    @Test(arguments: cases)
    func classify(_ c: Case) {
        let got = Self.rules.classify(channel: c.channel, account: c.account, text: c.text, meta: c.meta,
                                      givenSkills: c.skills, givenPriority: c.priority)
        #expect(got.queue == c.queue, "\(c.name)")
        #expect(got.requirements == c.requirements, "\(c.name)")
        #expect(got.priority == c.classPriority, "\(c.name)")
        #expect(got.emergency == c.emergency, "\(c.name)")
        #expect(got.botAllowed == !c.emergency, "\(c.name)")
        #expect(got.reason == c.reason, "\(c.name)")
        #expect(got.envelopeSkills == c.envelopeSkills, "\(c.name)")
        #expect(got.envelopePriority == c.envelopePriority, "\(c.name)")
    }

    @Test func emergencySkillsAndAnEmptyKeywordListTurningTheClassOff() {
        let withSkills = ClassificationRules(emergency: EmergencyClass(skills: [SkillNeed("emergency", 4)]))
        let c = withSkills.classify(channel: .web, account: "w", text: "有人落水了", meta: .object([]), givenSkills: nil, givenPriority: nil)
        #expect(c.queue == "emergency" && c.requirements == ["emergency": 4] && c.priority == 9 && c.emergency)
        let off = ClassificationRules(emergency: EmergencyClass(keywords: []))
        #expect(!off.classify(channel: .web, account: "w", text: "火灾", meta: .object([]), givenSkills: nil, givenPriority: nil).emergency)
        #expect(withSkills.emergencyKeyword(in: "自杀") == "自杀" && withSkills.emergencyKeyword(in: "自行车") == nil)
    }

    @Test func rulesDecodeFromJSON() throws {
        let json = try JSON.parse(#"""
        [ {"name": "ent", "match": {"channel": ["app", "wechat"], "account": "cityapp", "keywords": ["企业"], "meta": {"tier": "gold"}},
           "skills": {"enterprise": 3, "tax": 2}, "priority": 5},
          {"name": "all-phone", "match": {"channel": "phone"}, "skills": ["voice"]} ]
        """#)
        var problems: [String] = []
        let rules = ClassificationRules.decodeRules(json, source: "routing.rules", problems: &problems)
        #expect(problems.isEmpty, "\(problems)")
        #expect(rules.count == 2)
        #expect(rules[0].channels == [.app, .wechat] && rules[0].accounts == ["cityapp"] && rules[0].keywords == ["企业"])
        #expect(rules[0].skills == [SkillNeed("enterprise", 3), SkillNeed("tax", 2)] && rules[0].priority == 5)
        #expect(rules[1].skills == [SkillNeed("voice")] && rules[1].priority == nil)
        let r = ClassificationRules(rules: rules)
        let c = r.classify(channel: .wechat, account: "cityapp", text: "企业", meta: .object([("tier", "gold")]), givenSkills: nil, givenPriority: nil)
        #expect(c.queue == "enterprise" && c.requirements == ["enterprise": 3, "tax": 2] && c.priority == 5)
    }

    @Test(arguments: [
        (#"{}"#, "routing.rules: must be an array of rules"),
        (#"[{"skills": ["a"]}]"#, "routing.rules[0].name: must be a non-empty string"),
        (#"[{"name": "x"}]"#, "routing.rules[0]: sets neither skills nor priority"),
        (#"[{"name": "x", "priority": 10}]"#, "routing.rules[0].priority: must be an integer from 0 to 9"),
        (#"[{"name": "x", "priority": 1, "match": {"channel": "fax"}}]"#, "routing.rules[0].match.channel: unknown channel 'fax' (web, wechat, app, phone)"),
        (#"[{"name": "x", "priority": 1, "match": {"colour": "red"}}]"#, "routing.rules[0].match.colour: unknown key"),
        (#"[{"name": "x", "skills": {"a": 6}}]"#, "routing.rules[0].skills.a: proficiency must be an integer from 1 to 5"),
        (#"[{"name": "x", "skills": []}]"#, "routing.rules[0].skills: 1-32 skill names of 1-64 bytes"),
        (#"[{"name": "x", "priority": 1}, {"name": "x", "priority": 2}]"#, "routing.rules[1].name: duplicate rule name x"),
        (#"[{"name": "x", "priority": 1, "match": {"keywords": []}}]"#, "routing.rules[0].match.keywords: must be a non-empty string or an array of them"),
    ])
    func badRulesAreNamed(_ text: String, _ problem: String) throws {
        var problems: [String] = []
        _ = ClassificationRules.decodeRules(try JSON.parse(text), source: "routing.rules", problems: &problems)
        #expect(problems.contains(problem), "\(problems)")
    }

    @Test func emergencyDecodes() throws {
        var problems: [String] = []
        let e = ClassificationRules.decodeEmergency(try JSON.parse(#"{"keywords": ["fire"], "skills": ["emergency"]}"#),
                                                    source: "routing.emergency", problems: &problems)
        #expect(problems.isEmpty && e.keywords == ["fire"] && e.skills == [SkillNeed("emergency")])
        _ = ClassificationRules.decodeEmergency(try JSON.parse(#"{"keywords": [""], "x": 1}"#), source: "routing.emergency", problems: &problems)
        #expect(problems.count == 2, "\(problems)")
    }
}
