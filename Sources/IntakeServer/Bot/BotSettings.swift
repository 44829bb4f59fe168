// IntakeServer/Bot: the `bot` section of the config file (docs/ROUTING.md, "The FAQ bot"):
// which channels' new sessions go to the FAQ bot first, and its tunables. Parsed once at
// start-up, every problem collected (exit 2); immutable afterwards.
import IntakeCore
import IntakeJSON

/// `bot: {enabled, channels, threshold?, maxTurns?, handOverMessage?}`.
public struct BotSettings: Sendable, Equatable {
    /// Off: every session goes to the queue (the knowledge base still feeds surge detection).
    public var enabled = false
    /// Channels whose new sessions the bot takes first.
    public var channels: Set<Channel> = [.web, .wechat]
    /// Answer only when P(right) is at least this; nil: the threshold fitted with the bundled model.
    public var threshold: Double?
    /// Citizen messages after which the bot hands over instead of answering.
    public var maxTurns = 5
    /// What the citizen is told when the bot hands over.
    public var handOverMessage = "正在为您转接人工客服，请稍候。"

    /// Disabled (what an in-process `ServerConfig()` gets; `intake serve` starts from `demo`).
    public init() {}

    /// The embedded demo defaults of `intake serve`: the bot answers web and WeChat first.
    public static var demo: BotSettings {
        var s = BotSettings()
        s.enabled = true
        return s
    }

    /// The channels the bot takes, or none when disabled.
    public var activeChannels: Set<Channel> { enabled ? channels : [] }

    static let keys: Set<String> = ["enabled", "channels", "threshold", "maxTurns", "handOverMessage"]

    /// Parses the `bot` object; problems name the key, e.g. `bot.threshold: must be a number from 0 to 1`.
    static func parse(_ json: JSON, source: String, problems: inout [String]) -> BotSettings {
        var s = BotSettings.demo
        guard let members = json.objectValue else {
            problems.append("\(source): must be an object")
            return s
        }
        for (key, _) in members where !keys.contains(key) { problems.append("\(source).\(key): unknown key") }
        if let v = json["enabled"] {
            if let b = v.boolValue { s.enabled = b } else { problems.append("\(source).enabled: must be true or false") }
        }
        if let v = json["channels"] {
            if let items = v.arrayValue {
                var set: Set<Channel> = []
                for item in items {
                    if let name = item.stringValue, let c = Channel(rawValue: name), c != .phone { set.insert(c) } else {
                        problems.append("\(source).channels: \(item.serializedString) is not one of web, wechat, app")
                    }
                }
                s.channels = set
            } else {
                problems.append("\(source).channels: must be an array of channel names")
            }
        }
        if let v = json["threshold"] {
            if let d = v.doubleValue, d >= 0, d <= 1 { s.threshold = d } else { problems.append("\(source).threshold: must be a number from 0 to 1") }
        }
        if let v = json["maxTurns"] {
            if let n = v.intValue, (1...100).contains(n) { s.maxTurns = Int(n) } else { problems.append("\(source).maxTurns: must be an integer from 1 to 100") }
        }
        if let v = json["handOverMessage"] {
            if let t = v.stringValue, !t.isEmpty { s.handOverMessage = t } else { problems.append("\(source).handOverMessage: must be a non-empty string") }
        }
        return s
    }
}
