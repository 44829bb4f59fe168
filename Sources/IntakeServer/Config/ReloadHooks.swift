// IntakeServer: what SIGHUP reloads. A list of named actions, run in the order they were added,
// each reporting its own outcome in the log; one failing does not stop the others. Any thread:
// `add` and `reloadAll` take a short lock to copy the list; the actions run outside it
// (main.swift calls `reloadAll` on the main queue, the cold control plane).
import IntakeTelemetry
import Synchronization

/// The reload actions of a running server (`Server.reloaders`). Adding one is one line:
/// `server.reloaders.add("knowledge_base") { kb.reload() }` (the name is the `what` label of
/// `intake_reloads_total` and of the log lines).
public final class ReloadHooks: Sendable {
    /// One reload. Returns nil when it worked, else why not (logged as a warning; the
    /// action must then keep what it had).
    public typealias Action = @Sendable () -> String?

    private let actions = Mutex<[(name: String, run: Action)]>([])

    public init() {}

    /// Adds an action, run after those added before it.
    public func add(_ name: String, _ action: @escaping Action) {
        actions.withLock { $0.append((name, action)) }
    }

    /// The names of the actions, in order.
    public var names: [String] { actions.withLock { $0.map(\.name) } }

    /// Runs every action; returns the names of those that failed.
    @discardableResult
    public func reloadAll() -> [String] {
        let list = actions.withLock { $0 }
        var failed: [String] = []
        for (name, run) in list {
            if let why = run() {
                failed.append(name)
                reloadCounter(name, ok: false).increment()
                Log.warning("reload failed; keeping the previous one", ["what": .string(name), "error": .string(why)])
            } else {
                reloadCounter(name, ok: true).increment()
            }
        }
        if list.isEmpty { Log.info("reload: nothing to reload") }
        return failed
    }

    private func reloadCounter(_ name: String, ok: Bool) -> Counter {
        MetricsRegistry.shared.counter("intake_reloads_total", help: "Reloads on SIGHUP, by what was reloaded and outcome (ok, failed).",
                                       labels: ["what": name, "outcome": ok ? "ok" : "failed"])
    }
}
