// The raw TCP listener (NDJSON) of the real server: authentication, a bad line answered with an
// error line on a connection that stays open, and a line over the limit closing it.
import Testing
import IntakeServer
import IntakeJSON
import IntakeTestSupport

@Suite(.timeLimit(.minutes(5)))
struct NDJSONServerTests {
    func line(_ s: TestSocket) throws -> JSON { try JSON.parse(try s.receiveLine()) }

    @Test func badLinesGetErrorLinesAndTheConnectionStays() throws {
        let server = try startServer()
        defer { server.shutdown() }
        let s = try TestSocket(port: server.tcpEndpoint.port)
        try s.send("this is not json\n")
        #expect(try line(s)["error"]?.stringValue == "bad_json")
        try s.send("[1,2,3]\n")
        #expect(try line(s)["error"]?.stringValue == "bad_json")
        try s.send(#"{"channel":"app","account":"cityapp","channelMessageId":"m1","citizen":"u1","kind":"text","text":"hi"}"# + "\n")
        #expect(try line(s)["error"]?.stringValue == "unauthorized")
        try s.send(#"{"type":"auth","account":"cityapp","key":"wrong-key-0123456789"}"# + "\n")
        #expect(try line(s)["error"]?.stringValue == "unauthorized")
        try s.send(#"{"type":"auth","account":"cityapp","key":"cityapp-key-0123456789"}"# + "\r\n")
        #expect(try line(s)["type"]?.stringValue == "authenticated")
        try s.send(#"{"channel":"app","account":"cityapp","citizen":"u1","kind":"text","text":"hi"}"# + "\n")
        let missing = try line(s)
        #expect(missing["error"]?.stringValue == "invalid_envelope")
        #expect(missing["message"]?.stringValue?.contains("channelMessageId") == true)
        try s.send(#"{"channel":"app","account":"otherapp","channelMessageId":"m1","citizen":"u1","kind":"text","text":"hi"}"# + "\n")
        #expect(try line(s)["error"]?.stringValue == "forbidden")
        try s.send(#"{"type":"mystery"}"# + "\n")
        #expect(try line(s)["error"]?.stringValue == "unknown_type")
        // Several bad lines in one write: one answer each, in order.
        try s.send("{\n[\n\"x\"\n")
        for _ in 0..<3 { #expect(try line(s)["error"]?.stringValue == "bad_json") }
    }

    @Test func aLineOverTheLimitClosesTheConnection() throws {
        let server = try startServer { $0.maxLineBytes = 1024 }
        defer { server.shutdown() }
        let s = try TestSocket(port: server.tcpEndpoint.port)
        try s.send(String(repeating: "x", count: 2000))
        let answer = try line(s)
        #expect(answer["error"]?.stringValue == "line_too_long")
        #expect(s.waitForClose(timeout: 3))
        // A line exactly at the limit is read (and refused as JSON, not for its length).
        let t = try TestSocket(port: server.tcpEndpoint.port)
        try t.send(String(repeating: "y", count: 1024) + "\n")
        #expect(try line(t)["error"]?.stringValue == "bad_json")
    }
}
