// IntakeWire: splits a byte stream into newline-delimited lines with a length limit
// (NDJSON over TCP). A value type owned by one connection on its loop thread; it holds no heap
// buffer while no partial line is pending, so idle connections cost nothing here.

/// Splits input into lines ending in "\n" (a preceding "\r" is dropped).
public struct LineFramer {
    /// The longest line accepted, without its line ending.
    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0

    /// A line longer than the limit: the stream cannot be resynchronised safely.
    public struct LineTooLong: Error, Equatable, Sendable {
        public let limit: Int
        public init(limit: Int) { self.limit = limit }
    }

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0, "BUG: maxLineBytes must be positive")
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes held for an unfinished line.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole line (without "\n" or "\r\n"), nil when more input is needed.
    /// Empty lines are returned as empty arrays; callers usually skip them.
    public mutating func next() throws(LineTooLong) -> ArraySlice<UInt8>? {
        let end = buffer.count
        var i = start
        let found: Int? = buffer.withUnsafeBufferPointer { p in
            while i < end {
                if p[i] == 0x0A { return i }
                i += 1
            }
            return nil
        }
        guard let nl = found else {
            // A CR at the very end may be the first half of a CRLF, which the limit does not
            // count: a line at the limit is accepted however its bytes were cut into reads.
            let pending = end - start
            if pending > maxLineBytes && !(pending == maxLineBytes + 1 && buffer[end - 1] == 0x0D) {
                throw LineTooLong(limit: maxLineBytes)
            }
            if start == end { release() }
            return nil
        }
        var lineEnd = nl
        if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if lineEnd - start > maxLineBytes { throw LineTooLong(limit: maxLineBytes) }
        let line = buffer[start..<lineEnd]
        start = nl + 1
        return line
    }

    /// Drops the buffer once everything has been consumed (keeps idle connections small).
    public mutating func release() {
        if start == buffer.count {
            buffer = []
            start = 0
        } else if start > 4096 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
