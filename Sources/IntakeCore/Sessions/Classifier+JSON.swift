// IntakeCore/Sessions: reading classification rules and the emergency class from the config
// file's `routing.rules` and `routing.emergency` (docs/ROUTING.md, "Classification"). Every
// problem is collected with the path of the field at fault. Start-up only; any thread.
import IntakeJSON

extension ClassificationRules {
    /// `[{"name", "match": {"channel", "account", "keywords", "meta"}, "skills", "priority"}]`.
    public static func decodeRules(_ json: JSON, source: String, problems: inout [String]) -> [ClassificationRule] {
        guard let items = json.arrayValue else {
            problems.append("\(source): must be an array of rules")
            return []
        }
        var rules: [ClassificationRule] = []
        for (i, item) in items.enumerated() {
            let src = "\(source)[\(i)]"
            guard let members = item.objectValue else { problems.append("\(src): must be an object"); continue }
            for (k, _) in members where !["name", "match", "skills", "priority"].contains(k) { problems.append("\(src).\(k): unknown key") }
            guard let name = item["name"]?.stringValue, !name.isEmpty else { problems.append("\(src).name: must be a non-empty string"); continue }
            if rules.contains(where: { $0.name == name }) { problems.append("\(src).name: duplicate rule name \(name)") }
            var rule = ClassificationRule(name: name)
            if let match = item["match"] {
                guard let m = match.objectValue else { problems.append("\(src).match: must be an object"); continue }
                for (k, _) in m where !["channel", "account", "keywords", "meta"].contains(k) { problems.append("\(src).match.\(k): unknown key") }
                if let c = match["channel"] {
                    for name in strings(c, "\(src).match.channel", &problems) {
                        if let ch = Channel(rawValue: name) { rule.channels.append(ch) } else {
                            problems.append("\(src).match.channel: unknown channel '\(name)' (web, wechat, app, phone)")
                        }
                    }
                }
                if let a = match["account"] { rule.accounts = strings(a, "\(src).match.account", &problems) }
                if let k = match["keywords"] { rule.keywords = strings(k, "\(src).match.keywords", &problems) }
                if let meta = match["meta"] {
                    if let pairs = meta.objectValue { rule.meta = pairs } else { problems.append("\(src).match.meta: must be an object") }
                }
            }
            if let s = item["skills"] { rule.skills = skillNeeds(s, "\(src).skills", &problems) }
            if let p = item["priority"] {
                if let n = p.intValue, (0...9).contains(n) { rule.priority = Int(n) } else {
                    problems.append("\(src).priority: must be an integer from 0 to 9")
                }
            }
            if item["skills"] == nil && item["priority"] == nil { problems.append("\(src): sets neither skills nor priority") }
            rules.append(rule)
        }
        return rules
    }

    /// `{"keywords": [...], "skills": [...]}`; keywords default to `EmergencyClass.defaultKeywords`.
    public static func decodeEmergency(_ json: JSON, source: String, problems: inout [String]) -> EmergencyClass {
        var e = EmergencyClass()
        guard let members = json.objectValue else {
            problems.append("\(source): must be an object")
            return e
        }
        for (k, _) in members where !["keywords", "skills"].contains(k) { problems.append("\(source).\(k): unknown key") }
        if let k = json["keywords"] {
            if let list = k.arrayValue, list.allSatisfy({ !($0.stringValue ?? "").isEmpty }) {
                e.keywords = list.compactMap(\.stringValue)
            } else {
                problems.append("\(source).keywords: must be an array of non-empty strings ([] turns the class off)")
            }
        }
        if let s = json["skills"] { e.skills = skillNeeds(s, "\(source).skills", &problems) }
        return e
    }

    /// A string or an array of non-empty strings.
    static func strings(_ json: JSON, _ source: String, _ problems: inout [String]) -> [String] {
        if let s = json.stringValue, !s.isEmpty { return [s] }
        if let list = json.arrayValue, !list.isEmpty, list.allSatisfy({ !($0.stringValue ?? "").isEmpty }) {
            return list.compactMap(\.stringValue)
        }
        problems.append("\(source): must be a non-empty string or an array of them")
        return []
    }

    /// `["enterprise", "tax"]` (proficiency 1) or `{"enterprise": 3}`: 1–32 skills in order.
    static func skillNeeds(_ json: JSON, _ source: String, _ problems: inout [String]) -> [SkillNeed]? {
        var needs: [SkillNeed] = []
        if let list = json.arrayValue {
            for v in list {
                guard let s = v.stringValue else { problems.append("\(source): skill names must be strings"); return nil }
                needs.append(SkillNeed(s))
            }
        } else if let pairs = json.objectValue {
            for (skill, level) in pairs {
                guard let l = level.intValue, (1...5).contains(l) else {
                    problems.append("\(source).\(skill): proficiency must be an integer from 1 to 5")
                    return nil
                }
                needs.append(SkillNeed(skill, Int(l)))
            }
        } else {
            problems.append("\(source): must be an array of skill names or an object of skill → proficiency")
            return nil
        }
        guard (1...EnvelopeLimits.maxSkills).contains(needs.count),
              needs.allSatisfy({ !$0.skill.isEmpty && $0.skill.utf8.count <= EnvelopeLimits.maxSkillBytes }) else {
            problems.append("\(source): 1-\(EnvelopeLimits.maxSkills) skill names of 1-\(EnvelopeLimits.maxSkillBytes) bytes")
            return nil
        }
        return needs
    }
}
