// IntakeServer/Tools: the operator's commands against a running broker (`intake status`,
// `intake queues`, `intake agents`): they call the admin API over HTTP with the admin token
// and print a table for people, or the JSON with --json. Blocking; the CLI's main thread.
import IntakeJSON
import IntakeNet

public enum OperatorCLI {
    public struct Options: Sendable {
        /// The broker's HTTP base URL.
        public var url = "http://127.0.0.1:8080"
        /// The admin bearer token (flag, else $INTAKE_ADMIN_TOKEN).
        public var token: String?
        /// Print the raw JSON instead of a table.
        public var json = false
        public init() {}
    }

    /// What a command ended with: the text for stdout, or an error line and its exit code.
    public enum Outcome: Equatable, Sendable {
        case ok(String)
        case failed(String, code: Int32)
    }

    public static func run(_ command: String, _ o: Options) -> Outcome {
        let path: String
        switch command {
        case "status": path = "/api/v1/status"
        case "queues": path = "/api/v1/queues?limit=5"
        case "agents": path = "/api/v1/agents"
        default: return .failed("unknown operator command \(command)", code: 2)
        }
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let t = o.token, !t.isEmpty { headers.append(("Authorization", "Bearer " + t)) }
        let base = o.url.hasSuffix("/") ? String(o.url.dropLast()) : o.url
        let response: BlockingHTTPClient.Response
        do {
            response = try BlockingHTTPClient.request("GET", url: base + path, headers: headers, timeoutSeconds: 10)
        } catch {
            return .failed("cannot reach the broker at \(o.url): \(error) (is it running? --url sets the address)", code: 1)
        }
        let json = try? JSON.parse(response.body)
        guard response.status == 200, let json else {
            let why = json?["message"]?.stringValue ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            let hint = response.status == 401 || response.status == 403
                ? " (pass --token or set INTAKE_ADMIN_TOKEN to the broker's adminToken)" : ""
            return .failed("\(path): HTTP \(response.status): \(why)\(hint)", code: 1)
        }
        if o.json { return .ok(json.serializedString + "\n") }
        switch command {
        case "status": return .ok(statusText(json))
        case "queues": return .ok(queuesText(json))
        default: return .ok(agentsText(json))
        }
    }

    static func statusText(_ j: JSON) -> String {
        var out = ""
        let ready = j["ready"]?.boolValue ?? false
        out += "ready          \(ready ? "yes" : "NO")\n"
        out += "waiting        \(int(j["waiting"]))   oldest wait \(int(j["oldestWaitSeconds"])) s\n"
        let a = j["agents"]
        out += "agents         online \(int(a?["online"]))  away \(int(a?["away"]))  offline \(int(a?["offline"]))\n"
        out += "sessions       open \(int(j["sessionsOpen"]))  with agents \(int(j["sessionsAssigned"]))\n"
        var rates: [String] = []
        if case .object(let m)? = j["messagesPerSecond"] { for (k, v) in m { rates.append("\(k) \(v.doubleValue ?? 0)") } }
        out += "messages/s     \(rates.joined(separator: "  "))   total \(int(j["messagesTotal"]))\n"
        let sl = j["serviceLevel"]?["share"]?.doubleValue.map { String(Int(($0 * 100).rounded())) + "%" } ?? "–"
        out += "service level  \(sl) within \(int(j["serviceLevel"]?["targetSeconds"])) s\n"
        if case .array(let alerts)? = j["alerts"], !alerts.isEmpty {
            out += "alerts\n"
            for al in alerts { out += "  [\(al["severity"]?.stringValue ?? "")] \(al["name"]?.stringValue ?? ""): \(al["text"]?.stringValue ?? "")\n" }
        } else {
            out += "alerts         none\n"
        }
        return out
    }

    static func queuesText(_ j: JSON) -> String {
        var rows = [["QUEUE", "WAITING", "BY PRIORITY 9…0", "FIRST WAITS"]]
        if case .array(let qs)? = j["queues"] {
            for q in qs {
                var byP: [String] = []
                if case .array(let d)? = q["depthByPriority"] { byP = d.reversed().map { String($0.intValue ?? 0) } }
                var waits: [String] = []
                if case .array(let ss)? = q["sessions"] { waits = ss.prefix(3).map { "\(($0["waitedMs"]?.intValue ?? 0) / 1000)s" } }
                rows.append([q["name"]?.stringValue ?? "?", String(int(q["depth"])), byP.joined(separator: " "), waits.joined(separator: " ")])
            }
        }
        return table(rows)
    }

    static func agentsText(_ j: JSON) -> String {
        var rows = [["AGENT", "NAME", "PRESENCE", "CONNECTED", "SESSIONS", "SKILLS"]]
        if case .array(let agents)? = j["agents"] {
            for a in agents {
                var skills: [String] = []
                if case .object(let m)? = a["skills"] { skills = m.map { "\($0.0):\($0.1.intValue ?? 0)" } }
                var sessions = "0"
                if case .array(let s)? = a["sessions"] { sessions = String(s.count) }
                rows.append([a["id"]?.stringValue ?? "?", a["name"]?.stringValue ?? "", a["presence"]?.stringValue ?? "",
                             (a["connected"]?.boolValue ?? false) ? "yes" : "no", sessions, skills.joined(separator: " ")])
            }
        }
        return table(rows)
    }

    static func int(_ v: JSON?) -> Int64 { v?.intValue ?? Int64(v?.doubleValue ?? 0) }

    /// Left-aligned columns, two spaces apart (widths in Unicode scalars; CJK names may misalign).
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { c in rows.map { $0[c].unicodeScalars.count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { i, cell in
                i == r.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.unicodeScalars.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
