// FAQBotTests: paths to the shared evaluation data (../shared/faq beside the clone, as in CI)
// and a knowledge base loaded once for the tests that need the real entries.
import FAQBot
import Foundation

enum Fixtures {
    /// The repository root, from this file's path.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// ../shared/faq from the repository root.
    static let sharedFAQ = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/faq")
    static let kbPath = sharedFAQ.appendingPathComponent("kb.jsonl").path
    static let queriesPath = sharedFAQ.appendingPathComponent("queries-dev.jsonl").path

    /// The shared knowledge base; a missing file fails the test that asks for it.
    static let knowledgeBase: Result<KnowledgeBase, KnowledgeBaseError> = Result { () throws(KnowledgeBaseError) in
        try KnowledgeBase.load(path: kbPath)
    }

    /// A temporary file holding `text`.
    static func tempFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "faqbot-\(UUID().uuidString).jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
