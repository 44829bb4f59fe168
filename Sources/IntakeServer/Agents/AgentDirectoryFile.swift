// IntakeServer/Agents: loading the agent directory (`--agents FILE`) at start-up: read, decode,
// resolve `env:NAME` credentials, and find the demo directory when no file is given.
// Main thread, once, before the core thread starts.
import Foundation
import IntakeCore
import IntakeJSON

/// The agent directory file.
enum AgentDirectoryFile {
    /// The repo's demo directory, relative to the repo root.
    static let samplePath = "Ops/samples/agents.json"

    /// The directory named by `path`, or the demo one when `path` is nil (an empty directory,
    /// with a warning, when the demo file cannot be found). Throws one line for the operator.
    static func load(path: String?, environment: [String: String]) throws(BrokerStartError) -> (AgentDirectory, String?) {
        guard let file = path ?? findSample() else { return (try! AgentDirectory(agents: []), nil) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .agents("cannot read the agent directory \(file)")
        }
        let json: JSON
        do { json = try JSON.parse(Array(data)) } catch {
            throw .agents("the agent directory \(file) is not valid JSON: \(error)")
        }
        do {
            let decoded = try AgentDirectory.decode(json)
            var resolved: [AgentProfile] = []
            for var a in decoded.agents {
                if let name = a.credential.environmentName {
                    guard let value = environment[name], !value.isEmpty else {
                        throw BrokerStartError.agents("the agent directory \(file): agent \(a.id): field "
                                                      + "'\(a.credential.field)' names the environment variable \(name), which is not set")
                    }
                    a.credential = a.credential.field == "token" ? .token(value) : .secret(value)
                }
                resolved.append(a)
            }
            return (try AgentDirectory(agents: resolved), file)
        } catch let e as BrokerStartError {
            throw e
        } catch {
            throw .agents("the agent directory \(file): \(error)")
        }
    }

    /// Ops/samples/agents.json, found as `RepoFile.find` finds the repo's sample files.
    static func findSample() -> String? { RepoFile.find(samplePath) }
}

/// The repo's sample files (Ops/samples/…) for `intake serve` with its embedded defaults: looked
/// for in the working directory, then above the executable, then above this source file (a build
/// tree inside the repo), up to 8 levels each — as the widget's files are found beside the binary.
enum RepoFile {
    static func find(_ relativePath: String) -> String? {
        var starts = [FileManager.default.currentDirectoryPath]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append((exe as NSString).deletingLastPathComponent)
        }
        starts.append((#filePath as NSString).deletingLastPathComponent)
        for start in starts {
            var dir = start
            for _ in 0..<8 {
                let candidate = dir + "/" + relativePath
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                let up = (dir as NSString).deletingLastPathComponent
                if up == dir { break }
                dir = up
            }
        }
        return nil
    }
}
