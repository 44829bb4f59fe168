// FAQBot: the messages a bot must not answer whatever the knowledge base says — requests for a
// person, emergencies, complaints about one incident and look-ups of one's own case — found by
// phrase lists over the normalized (simplified, punctuation-free) text. Pure; any thread.

/// Why the bot hands a conversation to a person.
public enum HandOverReason: String, Sendable, Equatable, CaseIterable {
    /// No entry is likely enough to be right.
    case lowConfidence
    /// The citizen asked for a person.
    case askedForPerson
    /// Danger to life or property: never answered by the bot.
    case emergency
    /// A complaint about a specific incident, or a look-up of the citizen's own case.
    case complaint
    /// The conversation went on too long without resolution.
    case tooManyTurns
}

/// Phrase lists checked before any matching. Order of precedence: emergency, person, complaint.
public struct HandOverRules: Sendable {
    /// Requests for a human agent.
    public var person: [String]
    /// Emergencies: fire, gas, drowning, violence, self-harm, people missing or collapsed.
    public var emergency: [String]
    /// Demands for action on one incident and look-ups of one's own case or application.
    public var complaint: [String]
    /// Shortest run of letters, digits and `*` that counts as a case, order or id number when
    /// it holds at least 4 digits ("工单号2024031500123", "JZ0098", "3201**********1234").
    public var caseNumberMinLength: Int

    /// The default lists.
    public init() {
        person = ["转人工", "人工", "真人", "接线员", "找客服", "转客服", "客服人员", "活人", "跟人说", "和人说"]
        emergency = [
            "着火", "起火", "失火", "火灾", "大火", "冒烟", "燃气泄漏", "煤气泄漏", "天然气泄漏", "漏气了",
            "爆炸", "落水", "溺水", "掉河里", "掉水里", "自杀", "轻生", "跳楼", "跳河", "不想活",
            "救命", "晕倒", "昏倒", "昏迷", "倒地", "没有呼吸", "没呼吸", "心脏骤停", "打架", "斗殴",
            "见血", "流血", "持刀", "砍人", "杀人", "抢劫", "家暴", "被打", "绑架", "失踪", "走失",
            "还没回家", "被困", "困在电梯", "电梯困人", "触电", "车祸", "撞人", "坍塌", "塌了", "被淹",
            "快来人", "快派人",
        ]
        complaint = [
            "我要投诉", "我想投诉", "我要举报", "我想举报", "派人来", "派人修", "派人处理", "赶紧派人",
            "没人管", "没人处理", "到底管不管", "管不管", "要求尽快", "谁来赔",
            "办到哪", "到哪了", "到哪一步", "处理到哪", "进展到哪", "工单", "单号", "受理号", "订单号", "合同号",
            "帮我查一下我的", "帮我查查我的", "帮我查我的", "帮我看看我的", "帮我看一下我的", "查一下我的",
            "好了没有", "发了没有", "做好了没", "办好了没", "还没办好", "为什么被拒", "为什么没通过", "为什么被驳回",
        ]
        caseNumberMinLength = 6
    }

    /// The reason `text` (normalized) or `raw` (as written) must go to a person, or nil.
    public func reason(normalized text: String, raw: String) -> HandOverReason? {
        if emergency.contains(where: text.contains) { return .emergency }
        if person.contains(where: text.contains) { return .askedForPerson }
        if complaint.contains(where: text.contains) || hasCaseNumber(raw) { return .complaint }
        return nil
    }

    func hasCaseNumber(_ raw: String) -> Bool {
        var run = 0, digits = 0
        for scalar in raw.unicodeScalars {
            var v = scalar.value
            if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 }
            let isDigit = v >= 0x30 && v <= 0x39
            if isDigit || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2A {
                run += 1
                if isDigit { digits += 1 }
                if run >= caseNumberMinLength && digits >= 4 { return true }
            } else {
                run = 0
                digits = 0
            }
        }
        return false
    }
}
