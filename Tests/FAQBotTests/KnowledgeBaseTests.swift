// FAQBotTests: loading and validating a JSONL knowledge base, and keeping the old one when a
// reload fails.
import FAQBot
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5)))
struct KnowledgeBaseTests {
    static let good = """
        {"id":"a1","category":"社会保险","question":"社保卡丢了怎么补办？","answer":"带身份证到窗口补办。","keywords":["社保卡","补办"]}

        {"id":"a2","question":"公积金怎么提取？","similar_questions":["公积金能取出来吗"],"answer":"满足条件可提取。","source":"公积金中心","version":"2024"}
        """

    @Test func parsesEntriesAndSkipsBlankLines() throws {
        let entries = try KnowledgeBase.parse(jsonl: Self.good)
        #expect(entries.map(\.id) == ["a1", "a2"])
        #expect(entries[1].similarQuestions == ["公积金能取出来吗"])
        #expect(entries[1].source == "公积金中心")
        #expect(entries[0].keywords == ["社保卡", "补办"])
    }

    @Test(arguments: [
        (#"{"id":"x","question":"q","answer":"a"}"# + "\n" + #"{"id":"x","question":"q2","answer":"a2"}"#,
         KnowledgeBaseError.duplicateID(path: "t", id: "x", line: 2, firstLine: 1)),
        (#"{"id":"x","question":"q","answer":"  "}"#, .badLine(path: "t", line: 1, reason: "empty answer")),
        (#"{"id":"x","answer":"a"}"#, .badLine(path: "t", line: 1, reason: "missing question")),
        ("\n" + #"{"id":"x","question":"q","answer":"a","keywords":"k"}"#,
         .badLine(path: "t", line: 2, reason: "keywords is not an array")),
        ("", .empty(path: "t")),
    ])
    func rejectsInvalidFiles(text: String, expected: KnowledgeBaseError) {
        #expect(throws: expected) { try KnowledgeBase.parse(jsonl: text, path: "t") }
    }

    @Test func badJSONNamesTheLine() {
        #expect {
            try KnowledgeBase.parse(jsonl: #"{"id":"a","question":"q","answer":"a"}"# + "\n{oops", path: "t")
        } throws: { error in
            guard case KnowledgeBaseError.badLine(_, 2, let reason) = error else { return false }
            return reason.hasPrefix("invalid JSON")
        }
    }

    @Test func reloadKeepsTheOldKnowledgeBaseOnABadFile() throws {
        let path = try Fixtures.tempFile(Self.good)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = KnowledgeBaseStore(try KnowledgeBase.load(path: path))
        try #"{"id":"b1","question":"q","answer":""}"#.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failure(let error) = store.reload() else {
            Issue.record("a bad file must not load")
            return
        }
        #expect(error == .badLine(path: path, line: 1, reason: "empty answer"))
        #expect(store.current.entries.map(\.id) == ["a1", "a2"])

        try #"{"id":"b1","question":"新问题","answer":"新答案"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .success = store.reload() else {
            Issue.record("a good file must load")
            return
        }
        #expect(store.current.entries.map(\.id) == ["b1"])
    }

    @Test func missingFileIsUnreadable() {
        #expect {
            try KnowledgeBase.load(path: "/nonexistent/kb.jsonl")
        } throws: { error in
            if case KnowledgeBaseError.unreadable = error { return true }
            return false
        }
    }
}
