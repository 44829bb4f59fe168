// A broker started in-process on 127.0.0.1:0 for integration tests, stopped at the end.
import IntakeServer
import IntakeNet
import IntakeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Starts a Server with test-friendly defaults; `mutate` adjusts the config.
func startServer(_ mutate: (inout ServerConfig) -> Void = { _ in }) throws -> Server {
    var c = ServerConfig()
    c.http = Endpoint(host: "127.0.0.1", port: 0)
    c.tcp = Endpoint(host: "127.0.0.1", port: 0)
    c.loops = 2
    c.dataDir = "/tmp/intake-test-\(UInt32.random(in: 0...UInt32.max))"
    c.shutdownGraceSeconds = 1
    c.logLevel = "warning"
    c.apps = [AppAccount(account: "cityapp", key: "cityapp-key-0123456789", webhook: nil)]
    mutate(&c)
    return try Server(config: c)
}

/// Sends one raw HTTP request and reads one response (head and Content-Length body).
func httpExchange(_ s: TestSocket, _ raw: String, timeout: Double = 5) throws -> (status: Int, head: String, body: String) {
    try s.send(raw)
    return try readResponse(s, timeout: timeout)
}

func readResponse(_ s: TestSocket, timeout: Double = 5) throws -> (status: Int, head: String, body: String) {
    let headBytes = try s.receive(through: Array("\r\n\r\n".utf8), timeout: timeout)
    let head = String(decoding: headBytes, as: UTF8.self)
    let status = Int(head.split(separator: " ")[1]) ?? 0
    var length = 0
    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
        length = Int(line.split(separator: ":")[1].trimmingCharacters()) ?? 0
    }
    let body = length > 0 ? try s.receive(exactly: length, timeout: timeout) : []
    return (status, head, String(decoding: body, as: UTF8.self))
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

func waitFor(timeout: Double = 5, _ cond: () -> Bool) -> Bool {
    var waited = 0.0
    while waited < timeout {
        if cond() { return true }
        var ts = timespec(tv_sec: 0, tv_nsec: 10_000_000)
        nanosleep(&ts, nil)
        waited += 0.01
    }
    return cond()
}
