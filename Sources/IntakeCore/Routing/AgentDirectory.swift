// IntakeCore/Routing: the agent directory (`--agents FILE`): who may log in on /ws/agent, with
// which skills and how many conversations per channel kind. Decoded from a parsed JSON value
// with errors that name the agent and the field. Value types; any thread (read-only once built).
import IntakeJSON

/// The two kinds of work an agent's capacity is counted in.
public enum ChannelKind: String, Sendable, Equatable, Hashable, CaseIterable {
    /// Text conversations (web, WeChat, app); an agent holds up to `capacity.chat` at once.
    case chat
    /// Phone calls; at most one at a time, and a call blocks new chats.
    case voice

    /// Dense index for per-kind arrays.
    @inline(__always) var index: Int { self == .chat ? 0 : 1 }
}

/// How an agent proves who it is on `hello`.
public enum AgentCredential: Sendable, Equatable {
    /// A static bearer token (field `token`).
    case token(String)
    /// A shared secret for HMAC-signed expiring tokens (field `secret`).
    case secret(String)

    /// The directory field it came from: "token" or "secret".
    public var field: String {
        switch self {
        case .token: return "token"
        case .secret: return "secret"
        }
    }

    /// The raw value as written (possibly an `env:NAME` reference; resolving it is the caller's job).
    public var rawValue: String {
        switch self {
        case .token(let v), .secret(let v): return v
        }
    }

    /// `NAME` when the value is written `env:NAME`, else `nil`.
    public var environmentName: String? {
        rawValue.hasPrefix("env:") ? String(rawValue.dropFirst(4)) : nil
    }
}

/// One agent as the directory describes it.
public struct AgentProfile: Sendable, Equatable {
    /// Unique id, 1–64 characters from `A-Z a-z 0-9 . _ -`.
    public var id: String
    /// Display name (shown to citizens as "assigned {agentName}").
    public var name: String
    /// Skill name → proficiency 1...5. Special seats (enterprise, a language, a dialect) are skills.
    public var skills: [String: Int]
    /// Conversations held at once per kind; a kind not listed is 0. Voice is 0 or 1.
    public var capacity: [ChannelKind: Int]
    /// How the agent authenticates.
    public var credential: AgentCredential

    /// An agent profile; `AgentDirectory(agents:)` validates it.
    public init(id: String, name: String, skills: [String: Int], capacity: [ChannelKind: Int],
                credential: AgentCredential) {
        self.id = id
        self.name = name
        self.skills = skills
        self.capacity = capacity
        self.credential = credential
    }
}

/// Why a directory was refused: the agent (its id, or `#index` before the id is known), the
/// field, and a sentence for the operator's one-line error.
public struct DirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The agent's id, or "#3" for the fourth entry when its id is missing or bad; "" for the file.
    public let agent: String
    /// The field at fault ("skills.general", "capacity.voice", "id").
    public let field: String
    /// Human text.
    public let message: String

    /// "agent a001: field 'capacity.voice' must be 0 or 1".
    public var description: String {
        agent.isEmpty ? message : "agent \(agent): field '\(field)' \(message)"
    }
}

/// The validated agent directory, in id order.
public struct AgentDirectory: Sendable, Equatable {
    /// Bounds on what a directory may hold.
    public enum Limits {
        /// Longest id, in bytes.
        public static let maxIdBytes = 64
        /// Proficiency range.
        public static let proficiency = 1...5
        /// Highest chat capacity.
        public static let maxChatCapacity = 100
        /// Skills per agent.
        public static let maxSkills = 32
        /// Agents per directory.
        public static let maxAgents = 100_000
    }

    /// The agents, sorted by id (so index order is id order: the router's last tie-break).
    public let agents: [AgentProfile]

    /// Validates `agents` (ids unique and well formed, proficiencies 1–5, capacities in range,
    /// credentials non-empty) and sorts them by id.
    public init(agents: [AgentProfile]) throws(DirectoryError) {
        guard agents.count <= Limits.maxAgents else {
            throw DirectoryError(agent: "", field: "", message: "more than \(Limits.maxAgents) agents")
        }
        var seen = Set<String>()
        for (i, a) in agents.enumerated() {
            try Self.validate(a, index: i)
            guard seen.insert(a.id).inserted else {
                throw DirectoryError(agent: a.id, field: "id", message: "is not unique")
            }
        }
        self.agents = agents.sorted { $0.id < $1.id }
    }

    /// Decodes the directory file's JSON: an array of
    /// `{"id","name","skills":{name:1-5},"capacity":{"chat":N,"voice":0|1},"token"|"secret"}`.
    public static func decode(_ json: JSON) throws(DirectoryError) -> AgentDirectory {
        guard let items = json.arrayValue else {
            throw DirectoryError(agent: "", field: "", message: "the agent directory must be a JSON array of agents")
        }
        var agents: [AgentProfile] = []
        for (i, item) in items.enumerated() {
            agents.append(try decodeAgent(item, index: i))
        }
        return try AgentDirectory(agents: agents)
    }

    private static func decodeAgent(_ item: JSON, index: Int) throws(DirectoryError) -> AgentProfile {
        var who = "#\(index)"
        func fail(_ field: String, _ message: String) -> DirectoryError {
            DirectoryError(agent: who, field: field, message: message)
        }
        guard let members = item.objectValue else { throw fail("", "must be an object") }
        guard let id = item["id"]?.stringValue else { throw fail("id", "must be a string") }
        if isValidID(id) { who = id }
        let known: Set<String> = ["id", "name", "skills", "capacity", "token", "secret"]
        if let extra = members.first(where: { !known.contains($0.0) }) {
            throw fail(extra.0, "is not a known field")
        }
        guard let name = item["name"]?.stringValue, !name.isEmpty else {
            throw fail("name", "must be a non-empty string")
        }
        var skills: [String: Int] = [:]
        guard let skillMembers = item["skills"]?.objectValue else {
            throw fail("skills", "must be an object of skill name to proficiency 1-5")
        }
        for (skill, value) in skillMembers {
            guard let p = value.intValue, let level = Int(exactly: p) else {
                throw fail("skills.\(skill)", "must be an integer from 1 to 5")
            }
            skills[skill] = level
        }
        var capacity: [ChannelKind: Int] = [:]
        guard let capacityMembers = item["capacity"]?.objectValue else {
            throw fail("capacity", "must be an object like {\"chat\": 5, \"voice\": 1}")
        }
        for (kindName, value) in capacityMembers {
            guard let kind = ChannelKind(rawValue: kindName) else {
                throw fail("capacity.\(kindName)", "is not a channel kind (chat, voice)")
            }
            guard let n = value.intValue, let count = Int(exactly: n) else {
                throw fail("capacity.\(kindName)", "must be a non-negative integer")
            }
            capacity[kind] = count
        }
        let token = item["token"], secret = item["secret"]
        let credential: AgentCredential
        switch (token, secret) {
        case (let t?, nil):
            guard let s = t.stringValue else { throw fail("token", "must be a string") }
            credential = .token(s)
        case (nil, let t?):
            guard let s = t.stringValue else { throw fail("secret", "must be a string") }
            credential = .secret(s)
        case (nil, nil): throw fail("token", "is missing (give a token or a secret)")
        default: throw fail("secret", "cannot be given together with a token")
        }
        return AgentProfile(id: id, name: name, skills: skills, capacity: capacity, credential: credential)
    }

    private static func validate(_ a: AgentProfile, index: Int) throws(DirectoryError) {
        let who = isValidID(a.id) ? a.id : "#\(index)"
        func fail(_ field: String, _ message: String) -> DirectoryError {
            DirectoryError(agent: who, field: field, message: message)
        }
        guard isValidID(a.id) else {
            throw fail("id", "must be 1-\(Limits.maxIdBytes) characters from A-Z a-z 0-9 . _ -")
        }
        guard !a.name.isEmpty else { throw fail("name", "must be a non-empty string") }
        guard a.skills.count <= Limits.maxSkills else { throw fail("skills", "has more than \(Limits.maxSkills) skills") }
        for (skill, level) in a.skills.sorted(by: { $0.key < $1.key }) {
            guard !skill.isEmpty, skill.utf8.count <= EnvelopeLimits.maxSkillBytes else {
                throw fail("skills.\(skill)", "must be a name of 1-\(EnvelopeLimits.maxSkillBytes) bytes")
            }
            guard Limits.proficiency.contains(level) else {
                throw fail("skills.\(skill)", "must be an integer from 1 to 5 (got \(level))")
            }
        }
        let chat = a.capacity[.chat] ?? 0, voice = a.capacity[.voice] ?? 0
        guard (0...Limits.maxChatCapacity).contains(chat) else {
            throw fail("capacity.chat", "must be an integer from 0 to \(Limits.maxChatCapacity) (got \(chat))")
        }
        guard (0...1).contains(voice) else { throw fail("capacity.voice", "must be 0 or 1 (got \(voice))") }
        guard !a.credential.rawValue.isEmpty else { throw fail(a.credential.field, "must be a non-empty string") }
        if a.credential.rawValue.hasPrefix("env:") && a.credential.environmentName?.isEmpty != false {
            throw fail(a.credential.field, "names no environment variable after 'env:'")
        }
    }

    /// Whether `id` is 1–64 bytes of `A-Z a-z 0-9 . _ -`.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= Limits.maxIdBytes else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }
}
