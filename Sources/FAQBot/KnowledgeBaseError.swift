// FAQBot: why a knowledge base (or a bundled table) was refused, with the file and line.
// Value type; any thread.

/// A knowledge base that could not be loaded. The caller keeps its previous knowledge base.
public enum KnowledgeBaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// A line is not a valid entry (bad JSON, a missing or empty required field, a wrong type).
    case badLine(path: String, line: Int, reason: String)
    /// An id appears twice; `line` is the second occurrence, `firstLine` the first.
    case duplicateID(path: String, id: String, line: Int, firstLine: Int)
    /// The file holds no entries.
    case empty(path: String)

    /// One line for logs and the admin API, e.g. "kb.jsonl:12: empty answer".
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): unreadable: \(reason)"
        case .badLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .duplicateID(let path, let id, let line, let first):
            return "\(path):\(line): duplicate id \(id) (first on line \(first))"
        case .empty(let path): return "\(path): no entries"
        }
    }
}
