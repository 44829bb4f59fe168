// FAQBot: the current knowledge base behind a lock, swapped whole on reload (SIGHUP or the admin
// API call `reload`); a file that fails validation leaves the old one in place and the error is
// returned for the caller to report. Any thread: readers take a reference under a short lock.
import Synchronization

/// Holds the knowledge base in use and replaces it atomically.
public final class KnowledgeBaseStore: Sendable {
    private let state: Mutex<KnowledgeBase>

    /// A store serving `initial`.
    public init(_ initial: KnowledgeBase) {
        state = Mutex(initial)
    }

    /// The knowledge base in use now (a reference to immutable data; keep it for one request).
    public var current: KnowledgeBase { state.withLock { $0 } }

    /// Loads `path` (by default the current file) and swaps it in. On failure the old knowledge
    /// base stays and the error says why. Loading and indexing run outside the lock.
    @discardableResult
    public func reload(from path: String? = nil) -> Result<KnowledgeBase, KnowledgeBaseError> {
        let target = path ?? current.path
        do {
            let fresh = try KnowledgeBase.load(path: target)
            state.withLock { $0 = fresh }
            return .success(fresh)
        } catch {
            return .failure(error)
        }
    }
}
