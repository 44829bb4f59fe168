// Regression tests for what the fuzz target `record` found in IntakeCore's snapshot codec
// (Ops/scripts/fuzz, Fuzz/README.md): one named test per crash with the fuzzer's input inline,
// and the checks added beside it in the same decoder. A snapshot passes its file checksum
// before it is decoded, so these only come from a damaged disk or a hand-made file; the broker
// must still refuse them with a reason instead of trapping. Test-thread only.
import Testing
import IntakeCore

@Suite(.timeLimit(.minutes(1)))
struct CoreFuzzRegressionTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            func v(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
            out.append(v(h) << 4 | v(l))
        }
        return out
    }

    /// A version-2 snapshot header: magic, version, both id generators, the message count.
    static func header(messageCount: UInt64 = 4, lastMillis: Int64 = 1_763_776_000_123, counter: UInt32 = 3) -> ByteWriter {
        var w = ByteWriter()
        w.u32(0x5453_4249)
        w.u8(2)
        w.i64(lastMillis); w.u32(counter)
        w.i64(lastMillis); w.u32(1)
        w.u64(messageCount)
        return w
    }

    static func refusal(_ payload: [UInt8]) -> String? {
        do {
            _ = try BrokerState.fromSnapshot(payload)
            return nil
        } catch {
            return error.reason
        }
    }

    /// fuzz record, crash 1: input `f0` (snapshot mode) + the payload below, the seed snapshot
    /// with a session's message count mutated to 0x840b83f8_00000003: `Int(u64)` trapped.
    @Test func sessionMessageCountBeyondIntIsRefused() {
        let payload = Self.bytes(
            "49425354027bf03da99a010000030000007bf03da99a010000010000000400000000000000020000000f000000733031"
            + "6d38306d333530763030303002070000006369747961707005000000752d3130307bf03da99a01000003000000f8830b"
            + "84f0131db0020c1416ad5798bd9c7a49c748eb3daa7d775334e188fabfbc0f830b84f0131db0020c1416ad5798bd9c7a"
            + "49c748ebaa7d775334e1000000000f0000006d30316d38306d33353076303030330f0000007330316d38306d33353076"
            + "303030310112000000777835643363316132623465366637303839050000006f486f7435c8f03da99a01000001000088"
            + "fabfbc0f830b84f0131db0020c1416ad5798bd9c7a49c748ebaa7d775334e188fabfbc0f830b84f0131db0020c1416ad"
            + "5798bd9c7a49c74800ffffff06000000732d676f6eebaa7d65010000000700000067656e6572775334e188616cc02709"
            + "000000fabfbc0f0000010000000f")
        #expect(Self.refusal(payload) == "message count of session s01m80m350v0000 9514843738925432835 out of range at byte 89")
    }

    /// Beside crash 1, the same conversion of the state's own message count.
    @Test func messageCountBeyondIntIsRefused() {
        var w = Self.header(messageCount: 1 << 63)
        w.u32(0); w.u32(0); w.u32(0); w.u64(0); w.u32(0)
        #expect(Self.refusal(w.bytes) == "message count \(UInt64(1) << 63) out of range at byte 29")
    }

    /// Beside crash 1: a count of 2^32 - 1 sessions with nothing after it reserved room for
    /// four billion entries before the first read failed. It is a truncation error now.
    @Test func hugeCountsReserveNothingAndFailAsTruncated() {
        var w = Self.header()
        w.u32(.max)
        // Refused before any reservation: the count is checked against the payload's size.
        let why = Self.refusal(w.bytes)
        #expect(why == "\(UInt32.max) sessions in \(w.bytes.count) bytes" || why?.hasPrefix("truncated at byte 41") == true, "\(why ?? "accepted")")
    }

    /// Beside crash 1: an assignment's priority outside 0–9 was accepted, and the requeue of
    /// that session (its agent gone past the grace period) would trap in PriorityQueue.
    @Test func assignmentPriorityOutOfRangeIsRefused() {
        var w = Self.header()
        w.u32(0); w.u32(0); w.u32(0)
        w.u64(0)
        w.u32(1); w.string("s01m80m350v0000"); w.string("a001"); w.string("general"); w.u8(200); w.i64(0)
        #expect(Self.refusal(w.bytes) == "priority 200 out of range")
    }

    /// Beside crash 1: an id generator beyond what an id can write (10 base-32 digits of
    /// milliseconds, a counter below 2^20) made the first message after the restart trap.
    @Test func idGeneratorOutOfRangeIsRefused() {
        var w = Self.header(lastMillis: 1 << 50)
        w.u32(0); w.u32(0); w.u32(0); w.u64(0); w.u32(0)
        #expect(Self.refusal(w.bytes)?.hasPrefix("m id generator") == true)
        var ok = Self.header(lastMillis: (1 << 50) - 1, counter: 5)
        ok.u32(0); ok.u32(0); ok.u32(0); ok.u64(0); ok.u32(0)
        #expect(Self.refusal(ok.bytes) == nil)
    }
}
