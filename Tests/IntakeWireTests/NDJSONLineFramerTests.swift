// The NDJSON line framer: every input cut whole, byte by byte and at random points yields the
// same lines; CRLF and LF endings; the limit exactly at and one past it; no buffer when idle.
import Testing
import IntakeWire
import IntakeTestSupport

@Suite(.timeLimit(.minutes(5)))
struct NDJSONLineFramerTests {
    func lines(_ input: [UInt8], limit: Int, pieces: [[UInt8]]) throws -> [String] {
        var f = LineFramer(maxLineBytes: limit)
        var out: [String] = []
        for p in pieces {
            p.withUnsafeBytes { f.feed($0) }
            while let l = try f.next() { out.append(String(decoding: l, as: UTF8.self)) }
            f.release()
        }
        return out
    }

    @Test func everyCuttingGivesTheSameLines() throws {
        let text = "{\"a\":1}\n\r\n{\"b\":\"你好\"}\r\nplain\n\nlast\n"
        let input = Array(text.utf8)
        for c in chunkings(of: input, randomSplits: 16) {
            #expect(try lines(input, limit: 64, pieces: c.pieces) == ["{\"a\":1}", "", "{\"b\":\"你好\"}", "plain", "", "last"], "\(c)")
        }
    }

    @Test func anUnfinishedLineWaits() throws {
        var f = LineFramer(maxLineBytes: 16)
        Array("abc".utf8).withUnsafeBytes { f.feed($0) }
        #expect(try f.next() == nil)
        #expect(f.bufferedByteCount == 3)
        Array("def\n".utf8).withUnsafeBytes { f.feed($0) }
        #expect(try f.next().map { Array($0) } == Array("abcdef".utf8))
        #expect(try f.next() == nil)
        #expect(f.bufferedByteCount == 0)
    }

    @Test func theLimitIsExact() throws {
        let at = Array(String(repeating: "x", count: 100).utf8) + [0x0A]
        for c in chunkings(of: at) {
            #expect(try lines(at, limit: 100, pieces: c.pieces).first?.count == 100, "\(c)")
        }
        let atCRLF = Array(String(repeating: "x", count: 100).utf8) + [0x0D, 0x0A]
        #expect(try lines(atCRLF, limit: 100, pieces: [atCRLF]).first?.count == 100)
        let over = Array(String(repeating: "x", count: 101).utf8) + [0x0A]
        for c in chunkings(of: over) {
            #expect(throws: LineFramer.LineTooLong(limit: 100), "\(c)") { _ = try lines(over, limit: 100, pieces: c.pieces) }
        }
        // A line over the limit is refused before its newline arrives (no unbounded buffering).
        var f = LineFramer(maxLineBytes: 100)
        Array(String(repeating: "y", count: 101).utf8).withUnsafeBytes { f.feed($0) }
        #expect(throws: LineFramer.LineTooLong(limit: 100)) { _ = try f.next() }
    }
}
