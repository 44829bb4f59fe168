// IntakeStoreTests: CRC32C against published vectors and a bitwise reference, and the codecs
// of records, segment headers, snapshots, file names and fsync policies. Pure; no files.
import IntakeTestSupport
import Testing
@testable import IntakeStore

@Suite(.timeLimit(.minutes(5)))
struct CRC32CTests {
    /// RFC 3720 appendix B.4 and the common "123456789" check value.
    static let vectors: [(String, [UInt8], UInt32)] = [
        ("32 zero bytes", [UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ("32 0xFF bytes", [UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ("ascending 0..31", (0..<32).map { UInt8($0) }, 0x46DD_794E),
        ("descending 31..0", (0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ("123456789", Array("123456789".utf8), 0xE306_9283),
        ("empty", [], 0),
    ]

    @Test(arguments: 0..<vectors.count)
    func publishedVector(_ i: Int) {
        let (name, bytes, want) = Self.vectors[i]
        #expect(CRC32C.checksum(bytes) == want, "\(name)")
        let soft = bytes.withUnsafeBytes { CRC32C.finish(CRC32C.softwareUpdate(CRC32C.seed, $0)) }
        #expect(soft == want, "\(name), tables only")
    }

    /// The hardware path (SSE4.2, used when the CPU has it) and the tables agree on random
    /// buffers of every small length, at every alignment, and on large ones, fed whole and in
    /// random pieces.
    @Test func hardwareMatchesTables() {
        var rng = SeededRandom(seed: 11)
        let data = (0..<(1 << 17)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        data.withUnsafeBytes { all in
            func both(_ b: UnsafeRawBufferPointer, _ what: String) {
                let soft = CRC32C.finish(CRC32C.softwareUpdate(CRC32C.seed, b))
                #expect(CRC32C.checksum(b) == soft, "\(what)")
            }
            for start in 0..<16 {
                for length in 0..<80 { both(UnsafeRawBufferPointer(rebasing: all[start..<(start + length)]), "start \(start) length \(length)") }
            }
            for _ in 0..<200 {
                let start = Int.random(in: 0..<all.count, using: &rng)
                let end = Int.random(in: start...all.count, using: &rng)
                let slice = UnsafeRawBufferPointer(rebasing: all[start..<end])
                both(slice, "random \(start)..<\(end)")
                let cut = Int.random(in: start...end, using: &rng)
                let pieces = CRC32C.update(CRC32C.update(CRC32C.seed, UnsafeRawBufferPointer(rebasing: all[start..<cut])),
                                           UnsafeRawBufferPointer(rebasing: all[cut..<end]))
                #expect(CRC32C.finish(pieces) == CRC32C.finish(CRC32C.softwareUpdate(CRC32C.seed, slice)), "pieces cut at \(cut)")
            }
            both(all, "whole \(all.count) bytes")
        }
    }

    static func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    @Test func matchesBitwiseReferenceAtEveryLengthAndAlignment() {
        let data = payload(7, length: 300)
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                #expect(CRC32C.checksum(slice) == Self.bitwise(slice), "start \(start) end \(end)")
            }
        }
    }

    @Test func incrementalEqualsOneShot() {
        let data = payload(9, length: 1000)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<50 {
            let cut = Int.random(in: 0...data.count, using: &rng)
            let running = data.withUnsafeBytes { all in
                CRC32C.update(CRC32C.update(CRC32C.seed, UnsafeRawBufferPointer(rebasing: all[0..<cut])),
                              UnsafeRawBufferPointer(rebasing: all[cut...]))
            }
            #expect(CRC32C.finish(running) == CRC32C.checksum(data), "cut \(cut)")
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct CodecTests {
    @Test(arguments: [0, 1, 27, 28, 200, 4096])
    func recordRoundTrip(_ length: Int) {
        let p = payload(UInt64(length), length: length)
        var seg = SegmentHeader(base: 41, createdAtMillis: 5).encoded()
        seg += RecordCodec.encode(type: 7, sequence: 41, appendedAtMillis: -3, payload: p)
        seg += RecordCodec.encode(type: 255, sequence: 42, appendedAtMillis: 1_700_000_000_123, payload: [1])
        var seen: [Rec] = []
        var times: [Int64] = []
        let scan = seg.withUnsafeBytes { b in
            SegmentScan.scan(b, base: 41) { r in
                seen.append(Rec(seq: r.sequence, type: r.type, payload: r.payloadBytes))
                times.append(r.appendedAtMillis)
            }
        }
        #expect(scan.problem == nil)
        #expect(seen == [Rec(seq: 41, type: 7, payload: p), Rec(seq: 42, type: 255, payload: [1])])
        #expect(times == [-3, 1_700_000_000_123])
        #expect(scan.validEnd == seg.count)
        #expect(scan.records == 2 && scan.firstSequence == 41 && scan.lastSequence == 42)
    }

    @Test func recordLayoutMatchesTheDoc() {
        let r = RecordCodec.encode(type: 3, flags: 0, sequence: 0x0102_0304_0506_0708, appendedAtMillis: 0x11, payload: [0xAA, 0xBB])
        #expect(r.count == 30)
        #expect(Array(r[4..<8]) == [2, 0, 0, 0])  // length
        #expect(r[8] == 3 && r[9] == 0 && r[10] == 0 && r[11] == 0)
        #expect(Array(r[12..<20]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(r[20..<28]) == [0x11, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(r[28...]) == [0xAA, 0xBB])
        let crc = UInt32(r[0]) | UInt32(r[1]) << 8 | UInt32(r[2]) << 16 | UInt32(r[3]) << 24
        #expect(crc == CRC32C.checksum(Array(r[4...])))
    }

    @Test func segmentHeaderRoundTripAndChecks() throws {
        var h = SegmentHeader(base: 12345, createdAtMillis: 99).encoded()
        #expect(Array(h[0..<4]) == Array("ILOG".utf8))
        #expect(h.count == LogFormat.segmentHeaderBytes)
        #expect(try h.withUnsafeBytes { try SegmentHeader.decode($0).get() } == SegmentHeader(base: 12345, createdAtMillis: 99))
        h[9] ^= 1
        #expect(h.withUnsafeBytes { (try? SegmentHeader.decode($0).get()) == nil })
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { (try? SegmentHeader.decode($0).get()) == nil })
    }

    @Test func snapshotRoundTripAndChecks() {
        let p = payload(5, length: 100)
        var f = SnapshotCodec.encode(sequence: 77, createdAtMillis: 1, payload: p)
        #expect(Array(f[0..<4]) == Array("ISNP".utf8))
        #expect((try? SnapshotCodec.decode(f, file: "x", expectedSequence: 77).get())?.payload == p)
        #expect((try? SnapshotCodec.decode(f, file: "x", expectedSequence: 78).get()) == nil)
        #expect((try? SnapshotCodec.decode(Array(f.dropLast()), file: "x", expectedSequence: 77).get()) == nil)
        f[50] ^= 0x40
        #expect((try? SnapshotCodec.decode(f, file: "x", expectedSequence: 77).get()) == nil)
    }

    @Test func fileNamesSortLikeNumbers() {
        #expect(LogFormat.segmentName(base: 1) == "00000000000000000001.log")
        #expect(LogFormat.parseSegmentName("00000000000000000001.log") == 1)
        #expect(LogFormat.parseSegmentName(LogFormat.segmentName(base: .max)) == .max)
        #expect(LogFormat.parseSegmentName("0000000000000000001.log") == nil)
        #expect(LogFormat.parseSegmentName("0000000000000000000a.log") == nil)
        #expect(LogFormat.parseSegmentName("99999999999999999999.log") == nil)  // overflows UInt64
        #expect(LogFormat.parseSnapshotName(LogFormat.snapshotName(sequence: 4000)) == 4000)
        #expect(LogFormat.parseSnapshotName(LogFormat.snapshotName(sequence: 4000) + ".tmp") == nil)
        let names = [9, 10, 100, 2].map { LogFormat.segmentName(base: UInt64($0)) }
        #expect(names.sorted().map { LogFormat.parseSegmentName($0)! } == [2, 9, 10, 100])
    }

    @Test func fsyncPolicyParsing() {
        #expect(FsyncPolicy(parsing: "always") == .always)
        #expect(FsyncPolicy(parsing: "never") == .never)
        #expect(FsyncPolicy(parsing: "batch:5") == .batch(milliseconds: 5))
        #expect(FsyncPolicy(parsing: "batch:0") == nil)
        #expect(FsyncPolicy(parsing: "batch:") == nil)
        #expect(FsyncPolicy(parsing: "everysec") == nil)
        #expect(FsyncPolicy.batch(milliseconds: 5).description == "batch:5")
    }
}
