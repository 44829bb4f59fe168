// `intake-bench recovery`: restart time of a broker whose store holds N records. Builds the store
// through the broker itself (TCP NDJSON, pipelined producers, `--fsync never`; SIGTERM makes it
// sync), restarts it R times timing exec → ready line, then resends every record on one more
// start and expects N duplicates: the records really were recovered. Main thread.
import Glibc
import IntakeCrypto

enum RecoveryCommand {
    static let subcommand = Subcommand(
        name: "recovery",
        synopsis: "--intake PATH [--records 1000000] [--runs 5] [--producers 64] [--depth 64] [--data-dir DIR] [--no-verify]",
        summary: "restart time (exec → ready line) of a broker holding N ingested records",
        options: [
            OptionSpec("--intake", "the broker executable (required); run as `serve --config … --data-dir …`"),
            OptionSpec("--records", alias: "-n", "records to ingest first (default 1000000, at most 100000000)"),
            OptionSpec("--runs", "timed restarts (default 5, at most 50)"),
            OptionSpec("--producers", "TCP connections while filling (default 64)"),
            OptionSpec("--depth", "unanswered lines per connection while filling (default 64)"),
            OptionSpec("--size", "bytes of each Envelope line (default 128)"),
            OptionSpec("--data-dir", "empty or missing directory for the store (default: a temp dir, removed after)"),
            OptionSpec("--fill-timeout", "seconds allowed for filling and for verifying (default 900)"),
            OptionSpec("--ready-timeout", "seconds allowed for each start (default 120)"),
            OptionSpec("--no-verify", value: false, "skip resending every record after the restarts"),
        ],
        run: run)

    static let account = "bench"
    static let key = "bench-key-0123456789"

    struct Settings {
        let intake: String
        let records: Int
        let producers: Int
        let depth: Int
        let fillTimeoutS: Double
        let readyTimeoutS: Double
        let work: String
        let dataDir: String
        let loop: LoopSettings
    }

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let intake = try args.require("--intake")
        guard access(intake, X_OK) == 0 else { throw UsageError("--intake \(intake) is not an executable file") }
        let records = try args.int("--records", default: 1_000_000, in: 1...100_000_000)
        let runs = try args.int("--runs", default: 5, in: 1...50)
        let producers = try args.int("--producers", default: 64, in: 1...min(records, 4096))
        var template = "/tmp/intake-recovery.XXXXXX".utf8CString
        let work = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
        guard let work else { throw UsageError("mkdtemp: \(String(cString: strerror(errno)))") }
        let given = args.string("--data-dir")
        if let given, FileTree.bytes(given) > 0 { throw UsageError("--data-dir \(given) is not empty") }
        let s = Settings(
            intake: intake, records: records, producers: producers,
            depth: try args.int("--depth", default: 64, in: 1...1000),
            fillTimeoutS: try args.double("--fill-timeout", default: 900, in: 1...3600),
            readyTimeoutS: try args.double("--ready-timeout", default: 120, in: 1...3600),
            work: work, dataDir: given ?? work + "/data",
            loop: IngestCommand.settings(try Endpoint.parseHostPort("127.0.0.1:1"), account: account,
                                         size: try args.int("--size", default: 128, in: 0...65536)))
        defer { FileTree.remove(work) }
        say("intake-bench recovery intake=\(intake) records=\(records) runs=\(runs) producers=\(producers) data=\(s.dataDir)")
        do throws(UsageError) {
            return try measure(s, runs: runs, verify: !args.has("--no-verify"))
        } catch {
            printError("intake-bench recovery: \(error.message)")
            if let log = ProcStats.readSmallFile(work + "/broker.err"), !log.isEmpty {
                printError("broker stderr (first lines):\n" + String(log.prefix(2000)))
            }
            return 1
        }
    }

    static func measure(_ s: Settings, runs: Int, verify: Bool) throws(UsageError) -> Int32 {
        try FileTree.write(s.work + "/config.json", #"{"apps":[{"account":"\#(account)","key":"\#(key)"}]}"#)
        var errors = 0
        let filler = try start(s, fsync: "never")
        let fill = pump(s, tcp: filler.tcp)
        let stop = filler.process.terminate(timeoutS: 60)
        let dataBytes = FileTree.bytes(s.dataDir)
        errors += fill.errors
        say("filled: \(fill.acks)/\(s.records) acks, \(fill.duplicates) duplicates, \(fill.errors) errors in \(fixed(fill.seconds, 2)) s "
            + "(\(fixed(Double(fill.acks) / fill.seconds)) acks/s); stop \(fixed(Double(stop.nanos) / 1e6)) ms clean=\(stop.clean); "
            + "data \(dataBytes) bytes" + (fill.firstError.map { "; first error: \($0)" } ?? ""))
        if !stop.clean { errors += 1 }
        var times: [Double] = []
        for run in 1...runs {
            let b = try start(s, fsync: "always")
            times.append(Double(b.readyNanos) / 1e6)
            // intake installs its SIGTERM handler just after printing the ready line: give it a moment.
            ProcStats.sleep(seconds: 0.1)
            let end = b.process.terminate(timeoutS: 60)
            if !end.clean { errors += 1 }
            say("  restart \(run)/\(runs): ready in \(fixed(times.last!, 1)) ms (stop \(fixed(Double(end.nanos) / 1e6)) ms clean=\(end.clean))")
        }
        var recovered: Int? = nil
        if verify {
            let b = try start(s, fsync: "always")
            let check = pump(s, tcp: b.tcp)
            _ = b.process.terminate(timeoutS: 60)
            recovered = check.duplicates
            say("verify: \(check.duplicates)/\(fill.acks) resent records answered duplicate, \(check.acks - check.duplicates) stored anew, "
                + "\(check.errors) errors")
            if check.duplicates != fill.acks || check.errors > 0 { errors += 1 }
        }
        let sorted = times.sorted()
        var j = JSONLine()
        j.add("bench", "recovery")
        j.add("records", s.records)
        j.add("medianMs", WSSweepCommand.median(times), digits: 1)
        j.add("minMs", sorted.first ?? .nan, digits: 1)
        j.add("maxMs", sorted.last ?? .nan, digits: 1)
        j.add("runs", runs)
        j.add("acked", fill.acks)
        j.add("fillAcksPerSec", Double(fill.acks) / fill.seconds)
        j.add("dataBytes", dataBytes)
        j.add("stopMs", Double(stop.nanos) / 1e6)
        if let recovered { j.add("verifiedDuplicates", recovered) }
        j.add("errors", errors)
        say(j.text)
        return errors == 0 ? 0 : 1
    }

    /// Starts the broker on ephemeral loopback ports and waits for its ready line.
    static func start(_ s: Settings, fsync: String) throws(UsageError) -> (process: BrokerProcess, tcp: Endpoint, readyNanos: UInt64) {
        let argv = [s.intake, "serve", "--config", s.work + "/config.json", "--data-dir", s.dataDir,
                    "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--fsync", fsync]
        let process = try BrokerProcess(argv, stderrPath: s.work + "/broker.err")
        guard let (line, nanos) = process.waitForLine(prefix: "intake ready ", timeoutS: s.readyTimeoutS) else {
            throw UsageError("no `intake ready` line within \(fixed(s.readyTimeoutS)) s (or the broker exited)")
        }
        guard let tcpField = line.split(separator: " ").first(where: { $0.hasPrefix("tcp=") }) else {
            throw UsageError("ready line without tcp=: \(line)")
        }
        return (process, try Endpoint.parseHostPort(String(tcpField.dropFirst(4))), nanos)
    }

    /// Sends every record (producer i: sequence 1 … its share) pipelined over `producers` connections.
    static func pump(_ s: Settings, tcp: Endpoint) -> (acks: Int, duplicates: Int, errors: Int, seconds: Double, firstError: String?) {
        let settings = LoopSettings(endpoint: tcp, message: s.loop.message, hello: nil, replyMatch: nil, connectBatch: 500)
        let proto = NDJSONClientProtocol(authLine: IngestCommand.authLine(account: account, key: key))
        let loops = ClosedLoop.makeLoops(proto, settings, connections: s.producers, threads: ProcStats.onlineCores())
        let start = ProcStats.nowNanos()
        ClosedLoop.connectAll(loops, timeoutS: 30)
        let deadline = ProcStats.nowNanos() + UInt64(s.fillTimeoutS * 1e9)
        let share = s.records / s.producers
        let extra = s.records % s.producers
        ThreadGroup.runAll(loops.map { loop in { loop.fill(quota: { UInt64(share + ($0 < extra ? 1 : 0)) }, depth: s.depth, deadline: deadline) } })
        let seconds = Double(ProcStats.nowNanos() - start) / 1e9
        for loop in loops { loop.close() }
        let st = ClosedLoop.mergedStats(loops)
        let acks = Int(st.filled - st.replyErrors)
        return (acks, Int(st.duplicates), st.errors + Int(st.replyErrors), seconds, st.firstError)
    }
}
