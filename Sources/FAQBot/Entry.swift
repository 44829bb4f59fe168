// FAQBot: one knowledge-base entry and its JSONL form. Value type; any thread.
import IntakeJSON

/// One question-and-answer entry of the knowledge base.
public struct Entry: Sendable, Equatable {
    /// Unique id, e.g. "kb-0001".
    public let id: String
    /// Category (a department or topic); may be empty.
    public let category: String
    /// The canonical question.
    public let question: String
    /// Other phrasings of the question.
    public let similarQuestions: [String]
    /// The answer given to the citizen.
    public let answer: String
    /// Search keywords.
    public let keywords: [String]
    /// Where the answer comes from (a regulation, a department), if given.
    public let source: String?
    /// Version or date of the answer, if given.
    public let version: String?

    /// An entry from its fields.
    public init(id: String, category: String = "", question: String, similarQuestions: [String] = [],
                answer: String, keywords: [String] = [], source: String? = nil, version: String? = nil) {
        self.id = id
        self.category = category
        self.question = question
        self.similarQuestions = similarQuestions
        self.answer = answer
        self.keywords = keywords
        self.source = source
        self.version = version
    }

    /// Parses one JSONL object. Fields: `id`, `question`, `answer` (required, non-empty strings);
    /// `category` (or `dept`), `similar_questions` (or `similar`), `keywords` (string arrays),
    /// `source`, `version` (or `post_date`) optional. The error is the reason only; the loader
    /// adds file and line.
    public init(json: JSON) throws(EntryFieldError) {
        guard case .object = json else { throw EntryFieldError("not a JSON object") }
        func text(_ key: String, required: Bool) throws(EntryFieldError) -> String? {
            guard let value = json[key], value != .null else {
                if required { throw EntryFieldError("missing \(key)") }
                return nil
            }
            guard let s = value.stringValue else { throw EntryFieldError("\(key) is not a string") }
            if required && s.allSatisfy(\.isWhitespace) { throw EntryFieldError("empty \(key)") }
            return s
        }
        func list(_ key: String) throws(EntryFieldError) -> [String] {
            guard let value = json[key], value != .null else { return [] }
            guard case .array(let items) = value else { throw EntryFieldError("\(key) is not an array") }
            var out: [String] = []
            for item in items {
                guard let s = item.stringValue else { throw EntryFieldError("\(key) holds a non-string") }
                if !s.isEmpty { out.append(s) }
            }
            return out
        }
        let id = try text("id", required: true) ?? ""
        let question = try text("question", required: true) ?? ""
        let answer = try text("answer", required: true) ?? ""
        let category = try text("category", required: false)
        let dept = try text("dept", required: false)
        let version = try text("version", required: false)
        let postDate = try text("post_date", required: false)
        let similar = try list("similar_questions") + list("similar")
        self.init(
            id: id, category: category ?? dept ?? "", question: question, similarQuestions: similar,
            answer: answer, keywords: try list("keywords"), source: try text("source", required: false),
            version: version ?? postDate)
    }
}

/// Why one JSONL object is not an entry.
public struct EntryFieldError: Error, Equatable, Sendable {
    /// A short reason, e.g. "empty answer".
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}
