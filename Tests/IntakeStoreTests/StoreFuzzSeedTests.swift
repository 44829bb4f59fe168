// The `recovery` fuzz target's seeds (Fuzz/corpus/recovery/segment-*) are real logs: this test
// writes a small log with the store itself (fixed clock, no preallocation, so the bytes are
// deterministic) and checks that the committed seeds are exactly those bytes behind the
// harness's three option bytes (Fuzz/Recovery.swift). With INTAKE_UPDATE_FUZZ_SEEDS=1 it
// rewrites them instead, after a change of the format. Test-thread only.
import Foundation
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(1)))
struct StoreFuzzSeedTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/recovery").path

    /// The four records of the seed log, as the broker's types and sizes go.
    static let records: [(UInt8, [UInt8])] = [
        (2, Array("s01m80m350v0000 web widget v1".utf8)),
        (1, Array(#"{"id":"m01m80m350v0000","channel":"web","kind":"text","text":"你好"}"#.utf8)),
        (3, Array("s01m80m350v0000 general 0".utf8)),
        (5, []),
    ]

    /// The segment file of a fresh log holding `records`.
    static func segment() throws -> [UInt8] {
        let dir = TempDir("fuzzseed")
        var options = LogOptions(fsync: .always)
        options.preallocateBytes = 0
        options.clock = { 1_763_776_000_000 }
        let (store, _) = try LogStore.open(directory: dir.data, options: options)
        for (type, payload) in records { _ = try store.appendSync(type: type, payload).get() }
        store.close()
        return try PosixFileSystem().readWholeFile(dir.data + "/" + LogFormat.segmentName(base: 1))
    }

    /// Seed name → file content: option bytes (flags, base choice, snapshot/split choice) + segment.
    static func seeds(_ s: [UInt8]) -> [String: [UInt8]] {
        [
            "segment-4-records": [0x00, 0, 0] + s,
            "segment-4-records-snapshot": [0x10, 0, 0x60] + s,           // snapshot at the last sequence
            "segment-4-records-bad-snapshot": [0x30, 0, 0x60] + s,       // the same with a bad checksum
            "segment-two-segments": [0x08, 0, 1] + s,                      // split before the third record
            "segment-torn-tail": [0x00, 0, 0] + s.dropLast(5),
            "segment-zero-tail": [0x00, 0, 0] + s + [UInt8](repeating: 0, count: 64),
            "segment-renumbered": [0x07, 3, 0] + s,                        // base 4711, CRCs and sequences fixed up
        ]
    }

    @Test func recoverySeedsAreARealLog() throws {
        let s = try Self.segment()
        #expect(s.count == LogFormat.segmentHeaderBytes + Self.records.reduce(0) { $0 + LogFormat.recordHeaderBytes + $1.1.count })
        let update = ProcessInfo.processInfo.environment["INTAKE_UPDATE_FUZZ_SEEDS"] == "1"
        for (name, bytes) in Self.seeds(s) {
            let path = Self.corpus + "/" + name
            if update {
                try FileManager.default.createDirectory(atPath: Self.corpus, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }
            let committed = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
            let current = committed == bytes  // a Bool, so a failure does not print both files
            #expect(current, "\(name) is stale: run INTAKE_UPDATE_FUZZ_SEEDS=1 swift test --filter StoreFuzzSeedTests")
        }
    }
}
