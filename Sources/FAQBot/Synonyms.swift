// FAQBot: the synonym rewrites (Resources/synonyms.txt) that map citizens' words and the
// knowledge base's words to one canonical form (驾照 → 驾驶证, 房本 → 不动产权证), applied to
// normalized units, longest variant first. Immutable after load; any thread.
import Foundation

/// Variant unit sequences and their canonical replacements, keyed by first unit.
public struct Synonyms: Sendable {
    private let byFirst: [UInt32: [(variant: [UInt32], canonical: [UInt32])]]

    /// No rewrites.
    public static let none = Synonyms(rules: [])

    /// The table bundled with the module.
    public static let shared: Synonyms = {
        do {
            guard let url = Bundle.module.url(forResource: "synonyms", withExtension: "txt", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "synonyms", withExtension: "txt") else {
                throw KnowledgeBaseError.unreadable(path: "synonyms.txt", reason: "missing from the FAQBot bundle")
            }
            return try Synonyms(text: try String(contentsOf: url, encoding: .utf8))
        } catch {
            preconditionFailure("BUG: FAQBot synonym table unreadable: \(error)")
        }
    }()

    /// Parses "canonical<TAB>variant variant …" lines (`#` comments). Variants are written in
    /// simplified characters, lower case.
    public init(text: String) throws(KnowledgeBaseError) {
        var rules: [(String, String)] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t")
            guard parts.count == 2 else { throw .badLine(path: "synonyms.txt", line: n + 1, reason: "expected canonical<TAB>variants") }
            for v in parts[1].split(separator: " ") { rules.append((String(v), String(parts[0]))) }
        }
        self.init(rules: rules)
    }

    /// Rewrites each `variant` to `canonical`.
    public init(rules: [(variant: String, canonical: String)]) {
        let plain = Normalizer(tables: .shared, synonyms: Synonyms(empty: ()))
        var byFirst: [UInt32: [(variant: [UInt32], canonical: [UInt32])]] = [:]
        for (v, c) in rules {
            let vu = plain.normalize(v).units, cu = plain.normalize(c).units
            guard let first = vu.first, vu != cu || vu.count > 1 else { continue }
            byFirst[first, default: []].append((vu, cu))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.variant.count > $1.variant.count } }
        self.byFirst = byFirst
    }

    private init(empty: ()) { byFirst = [:] }

    /// Rewrites `units` in place; true if anything changed.
    func rewrite(_ units: inout [UInt32]) -> Bool {
        guard !byFirst.isEmpty else { return false }
        var out: [UInt32] = []
        var changed = false
        var i = 0
        outer: while i < units.count {
            if let rules = byFirst[units[i]] {
                for r in rules where i + r.variant.count <= units.count
                    && units[i..<(i + r.variant.count)].elementsEqual(r.variant) {
                    if !changed {
                        out.reserveCapacity(units.count + 8)
                        out += units[0..<i]
                        changed = true
                    }
                    out += r.canonical
                    i += r.variant.count
                    continue outer
                }
            }
            if changed { out.append(units[i]) }
            i += 1
        }
        if changed { units = out }
        return changed
    }
}
