// IntakeServer/Ops: where the operations page's static files are (SwiftPM resources of this
// target, Sources/IntakeServer/Resources/ops, found beside the built binary).
import Foundation

enum OpsAssets {
    static var directory: String? { Bundle.module.resourceURL?.appendingPathComponent("ops").path }
    /// The demo agent console (/agent/).
    static var agentConsoleDirectory: String? { Bundle.module.resourceURL?.appendingPathComponent("agent").path }
}
