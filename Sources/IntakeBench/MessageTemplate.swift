// Message bodies from a template, the same language as nio ws-loadgen's --message: {c} is the
// connection id, {n} the sequence number from 1, {pad} 'x' padding up to --size bytes. Writes into
// a caller-owned buffer without allocating. Immutable; shared by all client-loop threads.

/// A parsed message template.
struct MessageTemplate {
    /// nio ws-loadgen's default, so both clients send byte-identical messages.
    static let defaultText = #"{"type":"message","conn":{c},"seq":{n},"body":"{pad}"}"#

    private enum Segment {
        case literal([UInt8])
        case conn
        case seq
        case pad
    }

    private var segments: [Segment] = []
    private var literalBytes = 0
    private var connCount = 0
    private var seqCount = 0
    private var padCount = 0
    /// Target body size in bytes, reached by {pad} when the template has one.
    let size: Int

    init(_ text: String, size: Int) {
        self.size = size
        var literal = [UInt8]()
        var rest = Substring(text)
        func flush() {
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literalBytes += literal.count
                literal = []
            }
        }
        while let ch = rest.first {
            if rest.hasPrefix("{c}") {
                flush(); segments.append(.conn); connCount += 1; rest = rest.dropFirst(3)
            } else if rest.hasPrefix("{n}") {
                flush(); segments.append(.seq); seqCount += 1; rest = rest.dropFirst(3)
            } else if rest.hasPrefix("{pad}") {
                flush(); segments.append(.pad); padCount += 1; rest = rest.dropFirst(5)
            } else {
                literal.append(contentsOf: ch.utf8)
                rest = rest.dropFirst()
            }
        }
        flush()
    }

    /// Upper bound of a body's length, for sizing send buffers.
    var maxBytes: Int { literalBytes + 20 * (connCount + seqCount) + (padCount > 0 ? size : 0) }

    /// Writes the body for connection `conn`, message `seq` at `out`; returns its length (≤ maxBytes).
    @inline(__always)
    func write(into out: UnsafeMutableRawPointer, conn: Int, seq: UInt64) -> Int {
        var padEach = 0
        if padCount > 0 {
            let fixedBytes = literalBytes + connCount * decimalDigits(UInt64(conn)) + seqCount * decimalDigits(seq)
            padEach = max(0, size - fixedBytes) / padCount
        }
        var offset = 0
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                bytes.withUnsafeBytes { out.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                offset += bytes.count
            case .conn:
                offset += writeDecimal(UInt64(conn), to: out.advanced(by: offset))
            case .seq:
                offset += writeDecimal(seq, to: out.advanced(by: offset))
            case .pad:
                out.advanced(by: offset).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: padEach)
                offset += padEach
            }
        }
        return offset
    }
}

@inline(__always) func decimalDigits(_ value: UInt64) -> Int {
    var digits = 1
    var rest = value
    while rest >= 10 { rest /= 10; digits += 1 }
    return digits
}

/// Writes `value` in decimal at `out`; returns the number of bytes written (1–20).
@inline(__always) func writeDecimal(_ value: UInt64, to out: UnsafeMutableRawPointer) -> Int {
    let digits = decimalDigits(value)
    var rest = value
    var i = digits - 1
    while i >= 0 {
        out.storeBytes(of: UInt8(48 + rest % 10), toByteOffset: i, as: UInt8.self)
        rest /= 10
        i -= 1
    }
    return digits
}
