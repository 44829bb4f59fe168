// `intake-bench fsync`: the raw durability limit of a disk, the peer of durable ingest: a loop
// of appends each followed by fdatasync (one record per sync), and the same with a batch of
// records per write + fdatasync. Median of R runs. Main thread; one scratch file, removed after.
import Glibc

enum FsyncCommand {
    static let subcommand = Subcommand(
        name: "fsync",
        synopsis: "--dir DIR [--duration S] [--size 128] [--batch 100] [--runs 3] [--warmup S]",
        summary: "raw limit: append+fdatasync per record, and per batch of records, on DIR's disk",
        options: [
            OptionSpec("--dir", "directory on the disk to measure (required); a scratch file is created and removed"),
            OptionSpec("--duration", alias: "-d", "seconds per mode and run (default 3, at most 600)"),
            OptionSpec("--size", "bytes per record (default 128)"),
            OptionSpec("--batch", "records per write + fdatasync in the batch mode (default 100)"),
            OptionSpec("--runs", "runs of both modes; figures are medians (default 3, at most 10)"),
            OptionSpec("--warmup", "seconds of unmeasured single-record syncs first (default 0.5)"),
        ],
        run: run)

    /// One mode's figures: syncs, records, and the latency of one write + fdatasync.
    struct Sample {
        let syncsPerSec: Double
        let recordsPerSec: Double
        let histogram: Histogram
        func us(_ p: Double) -> Double { histogram.percentile(p) / 1000 }
    }

    static func run(_ args: Args) throws(UsageError) -> Int32 {
        let dir = try args.require("--dir")
        let durationS = try args.double("--duration", default: 3, in: 0.1...600)
        let size = try args.int("--size", default: 128, in: 1...(1 << 20))
        let batch = try args.int("--batch", default: 100, in: 1...10000)
        let runs = try args.int("--runs", default: 3, in: 1...10)
        let warmupS = try args.double("--warmup", default: 0.5, in: 0...60)
        let path = dir + "/intake-bench-fsync-\(getpid()).log"
        say("intake-bench fsync file=\(path) size=\(size) batch=\(batch) runs=\(runs) duration=\(fixed(durationS))s per mode")
        defer { unlink(path) }
        var singles: [Sample] = []
        var batches: [Sample] = []
        do throws(UsageError) {
            _ = try measure(path: path, record: size, batch: 1, durationS: warmupS)
            for run in 1...runs {
                let one = try measure(path: path, record: size, batch: 1, durationS: durationS)
                let many = try measure(path: path, record: size, batch: batch, durationS: durationS)
                say("  run \(run)/\(runs): \(fixed(one.syncsPerSec)) syncs/s p50=\(fixed(one.us(50))) p99=\(fixed(one.us(99))) "
                    + "p99.9=\(fixed(one.us(99.9))) us | batch \(batch): \(fixed(many.recordsPerSec)) records/s "
                    + "p50=\(fixed(many.us(50))) p99=\(fixed(many.us(99))) us")
                singles.append(one)
                batches.append(many)
            }
        } catch {
            printError("intake-bench fsync: \(error.message)")
            return 1
        }
        let med = WSSweepCommand.median
        var j = JSONLine()
        j.add("bench", "fsync")
        j.add("size", size)
        j.add("opsPerSec", med(singles.map(\.syncsPerSec)))
        j.add("p50Us", med(singles.map { $0.us(50) }))
        j.add("p99Us", med(singles.map { $0.us(99) }))
        j.add("p999Us", med(singles.map { $0.us(99.9) }))
        j.add("batch", batch)
        j.add("batchRecordsPerSec", med(batches.map(\.recordsPerSec)))
        j.add("batchesPerSec", med(batches.map(\.syncsPerSec)))
        j.add("batchP50Us", med(batches.map { $0.us(50) }))
        j.add("batchP99Us", med(batches.map { $0.us(99) }))
        j.add("runs", runs)
        j.add("durationS", durationS)
        j.add("statistic", "median")
        say(j.text)
        return 0
    }

    /// Appends `batch` records of `record` bytes per write(2), fdatasync after each write, for
    /// `durationS` on a fresh file (so each sync also commits the grown file size, as a log's does).
    static func measure(path: String, record: Int, batch: Int, durationS: Double) throws(UsageError) -> Sample {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UsageError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = record * batch
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: bytes)
        for i in 1...batch { buffer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: i * record - 1, as: UInt8.self) }
        var histogram = Histogram()
        var syncs = 0
        let start = ProcStats.nowNanos()
        let end = start + UInt64(durationS * 1e9)
        var now = start
        while now < end {
            var written = 0
            while written < bytes {
                let n = write(fd, buffer + written, bytes - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw UsageError("write \(path): \(String(cString: strerror(errno)))") }
                written += n
            }
            guard fdatasync(fd) == 0 else { throw UsageError("fdatasync \(path): \(String(cString: strerror(errno)))") }
            let after = ProcStats.nowNanos()
            histogram.record(after - now)
            syncs += 1
            now = after
        }
        let seconds = Double(now - start) / 1e9
        return Sample(syncsPerSec: Double(syncs) / seconds, recordsPerSec: Double(syncs * batch) / seconds, histogram: histogram)
    }
}
