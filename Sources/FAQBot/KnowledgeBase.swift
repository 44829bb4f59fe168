// FAQBot: a loaded knowledge base — validated entries plus the search index built over them.
// Immutable after load so a reload can swap it atomically (KnowledgeBaseStore); any thread.
import Foundation
import IntakeJSON

/// Validated entries and their index. Build one per (re)load; never mutated afterwards.
public struct KnowledgeBase: Sendable {
    /// The entries in file order.
    public let entries: [Entry]
    /// The index the matcher searches.
    public let index: SearchIndex
    /// Where the entries came from ("" when built in memory).
    public let path: String

    /// Builds the index over `entries` (ids must be unique: a programmer error otherwise).
    public init(entries: [Entry], path: String = "", normalizer: Normalizer = Normalizer()) {
        self.entries = entries
        self.index = SearchIndex(entries: entries, normalizer: normalizer)
        self.path = path
    }

    /// Parses and validates JSONL text: every non-blank line one entry, ids unique, question
    /// and answer non-empty. Blank lines are skipped.
    public static func parse(jsonl: String, path: String = "<memory>") throws(KnowledgeBaseError) -> [Entry] {
        var entries: [Entry] = []
        var firstLine: [String: Int] = [:]
        var lineNumber = 0
        for line in jsonl.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let json: JSON
            do {
                json = try JSON.parse(String(line), limits: JSONLimits(maxDepth: 8, maxBytes: 1 << 20))
            } catch {
                throw .badLine(path: path, line: lineNumber, reason: "invalid JSON: \(error)")
            }
            let entry: Entry
            do {
                entry = try Entry(json: json)
            } catch {
                throw .badLine(path: path, line: lineNumber, reason: error.reason)
            }
            if let first = firstLine[entry.id] {
                throw .duplicateID(path: path, id: entry.id, line: lineNumber, firstLine: first)
            }
            firstLine[entry.id] = lineNumber
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw .empty(path: path) }
        return entries
    }

    /// Reads, validates and indexes the JSONL file at `path`.
    public static func load(path: String, normalizer: Normalizer = Normalizer()) throws(KnowledgeBaseError) -> KnowledgeBase {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        return KnowledgeBase(entries: try parse(jsonl: text, path: path), path: path, normalizer: normalizer)
    }
}
