// The metrics registry and its Prometheus text exposition; the JSON log line format.
import Testing
import IntakeTelemetry
#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(5)))
struct MetricsTests {
    @Test func countersGaugesAndLabels() {
        let r = MetricsRegistry()
        let web = r.counter("intake_messages_ingested_total", help: "Messages.", labels: ["channel": "web"])
        web.increment()
        web.increment(by: 2)
        #expect(r.counter("intake_messages_ingested_total", help: "Messages.", labels: ["channel": "web"]) === web)
        r.counter("intake_messages_ingested_total", help: "Messages.", labels: ["channel": "app"]).increment()
        let g = r.gauge("intake_sessions_open", help: "Open sessions.")
        g.set(5)
        g.decrement()
        r.gaugeFunction("intake_queue_depth", help: "Depth.", labels: ["queue": "general", "priority": "9"]) { 7 }
        r.counter("odd", help: "Line\nbreak and \\", labels: ["l": "a\"b\\c\nd"]).increment()
        let text = r.exposition()
        #expect(text.contains("# HELP intake_messages_ingested_total Messages.\n# TYPE intake_messages_ingested_total counter\n"))
        #expect(text.contains("intake_messages_ingested_total{channel=\"app\"} 1\nintake_messages_ingested_total{channel=\"web\"} 3\n"))
        #expect(text.contains("intake_sessions_open 4\n"))
        #expect(text.contains("intake_queue_depth{priority=\"9\",queue=\"general\"} 7\n"))
        #expect(text.contains("# HELP odd Line\\nbreak and \\\\\n"))
        #expect(text.contains("odd{l=\"a\\\"b\\\\c\\nd\"} 1\n"))
    }

    @Test func histogramBucketsAreCumulative() {
        let r = MetricsRegistry()
        let h = r.histogram("intake_store_fsync_seconds", help: "fsync.", bounds: [0.001, 0.01, 0.1])
        for v in [0.0005, 0.001, 0.002, 0.05, 3.0] { h.observe(v) }
        let text = r.exposition()
        #expect(text.contains("intake_store_fsync_seconds_bucket{le=\"0.001\"} 2\n"))
        #expect(text.contains("intake_store_fsync_seconds_bucket{le=\"0.01\"} 3\n"))
        #expect(text.contains("intake_store_fsync_seconds_bucket{le=\"0.1\"} 4\n"))
        #expect(text.contains("intake_store_fsync_seconds_bucket{le=\"+Inf\"} 5\n"))
        #expect(text.contains("intake_store_fsync_seconds_count 5\n"))
        #expect(text.contains("intake_store_fsync_seconds_sum 3.0535\n"))
    }

    @Test func logLinesAreJSONObjects() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        Log.redirect(toFD: fds[1])
        defer { Log.redirect(toFD: 2); close(fds[0]); close(fds[1]) }
        Log.warning("disk \"full\"\n", ["bytes": .int(42), "path": .string("/tmp/a\tb"), "ok": .bool(false),
                                        "caller": .string("13812341234")])
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fds[0], &buf, buf.count)
        let line = String(decoding: buf[0..<max(0, n)], as: UTF8.self)
        #expect(line.hasPrefix("{\"ts\":\"20"))
        #expect(line.hasSuffix("}\n"))
        #expect(line.contains("\"level\":\"warning\",\"msg\":\"disk \\\"full\\\"\\n\",\"bytes\":42,\"path\":\"/tmp/a\\tb\",\"ok\":false"))
        #expect(line.contains("\"caller\":\"138****1234\""), "personal data is masked in log fields")
        #expect(Log.rfc3339(epochMillis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Log.rfc3339(epochMillis: 1_795_315_485_123) == "2026-11-22T02:44:45.123Z")
    }
}
