// IntakeServer: the process's environment and files, for the config loader (which itself
// stays pure so tests can pass their own). Any thread.
import Foundation

public enum ProcessEnvironment {
    public static var current: [String: String] { ProcessInfo.processInfo.environment }

    public static func readFile(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }
}
