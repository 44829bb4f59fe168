// HTTPRequestParser: a resumable HTTP/1.1 request parser (RFC 9112). One value per connection,
// owned and fed by that connection's loop thread; requests leave it as Sendable values.
//
// Design: `feed` parses the caller's bytes in place and copies only what it cannot finish (a
// partial head, chunk-size line or trailer section) into `buffer`; body bytes go straight into
// the body array. Completed requests wait in a small queue for `next()`. When everything fed
// was consumed the buffer is an empty array with no storage, so an idle connection's parser
// owns no heap memory. Strict like llhttp's strict mode: lines must end in CRLF (a bare LF or
// bare CR is a 400), obs-fold is a 400, CL+TE is a 400. Errors are sticky: after one, `next()`
// hands out the requests completed before it, then throws it forever, and input is dropped.
#if canImport(Glibc)
import Glibc
#endif

/// Turns the bytes of one connection into complete `HTTPRequest`s, pipelined or not.
public struct HTTPRequestParser {
    enum Phase {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case upgraded
        case failed(HTTPParseError)
    }

    /// How far a partial head, chunk-size line or trailer section has been scanned, relative
    /// to its first byte (which is `buffer[0]` between calls to `feed`).
    struct Scan {
        var scanned = 0
        var lineStart = 0
        var lines = 0
    }

    /// The bounds this parser enforces.
    public let limits: HTTPLimits
    var phase: Phase = .head
    var buffer: [UInt8] = []
    var scan = Scan()
    var pendingHead: HTTPRequestHead?
    var body: [UInt8] = []
    private var firstReady: HTTPRequest?
    private var moreReady: [HTTPRequest] = []
    private var moreReadyIndex = 0

    /// A parser enforcing `limits`.
    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// True while bytes of an unfinished request are held (a partial head, body or trailers):
    /// the connection applies its header/body timeout then, and its idle timeout otherwise.
    public var hasPartialRequest: Bool {
        switch phase {
        case .head: !buffer.isEmpty
        case .upgraded, .failed: false
        default: true
        }
    }

    /// Bytes of input held: an unfinished request's buffered bytes and body so far, or after an
    /// upgrade the bytes not yet taken with `takeRemainingBytes()`.
    public var bufferedByteCount: Int { buffer.count + body.count }

    /// True once an upgrade or CONNECT request has been parsed: no more requests will come.
    public var isUpgraded: Bool {
        if case .upgraded = phase { return true }
        return false
    }

    /// Parses `bytes` (which need not stay valid after the call). Completed requests, and an
    /// error if the input is malformed, are handed out by `next()`.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        switch phase {
        case .failed: return
        case .upgraded:
            appendBytes(bytes, to: &buffer)
            return
        default: break
        }
        if buffer.isEmpty {
            // Fast path: parse in place, keep only the unfinished tail.
            let used = consumeCatching(bytes)
            if used < bytes.count && retainsTail { buffer = copyBytes(UnsafeRawBufferPointer(rebasing: bytes[used...])) }
        } else {
            var input: [UInt8] = []
            swap(&input, &buffer)
            appendBytes(bytes, to: &input)
            let used = input.withUnsafeBytes { consumeCatching($0) }
            if used < input.count && retainsTail {
                // A fresh array: a tight copy of a small tail rather than a large buffer's capacity.
                buffer = used == 0 ? input : Array(input[used...])
            }
        }
    }

    /// Convenience for `feed(_: UnsafeRawBufferPointer)`.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete request, or nil when more input is needed (or, after an upgrade or
    /// CONNECT request, ever again). Throws the parse error once the requests before it are out.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if let request = firstReady {
            firstReady = nil
            if moreReadyIndex < moreReady.count {
                firstReady = moreReady[moreReadyIndex]
                moreReadyIndex += 1
                if moreReadyIndex == moreReady.count {
                    moreReady = []
                    moreReadyIndex = 0
                }
            }
            return request
        }
        if case .failed(let error) = phase { throw error }
        return nil
    }

    /// After an upgrade or CONNECT request, the bytes that followed it (they belong to the next
    /// protocol); the parser holds none afterwards. Empty in any other state.
    public mutating func takeRemainingBytes() -> [UInt8] {
        guard case .upgraded = phase else { return [] }
        var out: [UInt8] = []
        swap(&out, &buffer)
        return out
    }

    // MARK: the state machine

    /// Only a failed parser drops its unconsumed input.
    private var retainsTail: Bool {
        if case .failed = phase { return false }
        return true
    }

    private mutating func consumeCatching(_ p: UnsafeRawBufferPointer) -> Int {
        do {
            return try consume(p)
        } catch {
            phase = .failed(error)
            pendingHead = nil
            body = []
            scan = Scan()
            return p.count
        }
    }

    /// Advances over `p`, returning how many bytes were used; the rest start an unfinished
    /// element (or, after an upgrade, belong to the next protocol).
    private mutating func consume(_ p: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var i = 0
        let n = p.count
        while i < n {
            switch phase {
            case .head:
                if scan.scanned == 0 {
                    // RFC 9112 §2.2: ignore empty lines before a request-line.
                    while i + 1 < n && p[i] == ASCII.cr && p[i + 1] == ASCII.lf { i += 2 }
                    if i == n || (i + 1 == n && p[i] == ASCII.cr) { return i }
                }
                guard let end = try scanSection(p, from: i, isHead: true) else { return i }
                let (head, framing) = try parseHead(p, from: i, to: end)
                i = end
                scan = Scan()
                try beginBody(of: head, framing: framing)
            case .fixedBody(let remaining):
                let take = min(remaining, n - i)
                appendBytes(UnsafeRawBufferPointer(rebasing: p[i..<(i + take)]), to: &body)
                i += take
                if take == remaining {
                    finishPending(trailers: HTTPHeaders())
                } else {
                    phase = .fixedBody(remaining: remaining - take)
                }
            case .chunkSize:
                guard let lf = findLF(p, from: i + scan.scanned) else {
                    scan.scanned = n - i
                    if n - i > limits.maxChunkLineBytes + 1 { throw chunkLineTooLong() }
                    return i
                }
                let size = try parseChunkSizeLine(p, from: i, lf: lf)
                i = lf + 1
                scan = Scan()
                if size == 0 {
                    phase = .trailers
                } else {
                    guard size <= limits.maxBodyBytes - body.count else { throw bodyTooLarge() }
                    phase = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, n - i)
                appendBytes(UnsafeRawBufferPointer(rebasing: p[i..<(i + take)]), to: &body)
                i += take
                phase = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard n - i >= 2 else {
                    if p[i] != ASCII.cr { throw .bad("chunk data not followed by CRLF") }
                    return i
                }
                guard p[i] == ASCII.cr && p[i + 1] == ASCII.lf else { throw .bad("chunk data not followed by CRLF") }
                i += 2
                phase = .chunkSize
            case .trailers:
                guard let end = try scanSection(p, from: i, isHead: false) else { return i }
                let trailers = try parseFields(p, from: i, to: end, lines: scan.lines)
                i = end
                scan = Scan()
                finishPending(trailers: trailers)
            case .upgraded, .failed:
                return i
            }
        }
        return i
    }

    /// Chooses the body framing of a parsed head (RFC 9112 §6.3), or hands the request out now.
    private mutating func beginBody(of head: HTTPRequestHead, framing: Framing) throws(HTTPParseError) {
        switch framing {
        case .none:
            enqueue(HTTPRequest(head: head))
        case .contentLength(let length):
            guard length <= limits.maxBodyBytes else { throw bodyTooLarge() }
            if length == 0 {
                enqueue(HTTPRequest(head: head))
            } else {
                pendingHead = head
                phase = .fixedBody(remaining: length)
            }
        case .chunked:
            pendingHead = head
            phase = .chunkSize
        }
    }

    private mutating func finishPending(trailers: HTTPHeaders) {
        guard let head = pendingHead else { preconditionFailure("BUG: body finished without a head") }
        pendingHead = nil
        var requestBody: [UInt8] = []
        swap(&requestBody, &body)
        enqueue(HTTPRequest(head: head, body: requestBody, trailers: trailers))
    }

    private mutating func enqueue(_ request: HTTPRequest) {
        let stops = request.head.isUpgrade || request.head.method == "CONNECT"
        if firstReady == nil {
            firstReady = request
        } else {
            moreReady.append(request)
        }
        phase = stops ? .upgraded : .head
    }

    // MARK: scanning

    @inline(__always)
    private func findLF(_ p: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < p.count, let base = p.baseAddress,
              let hit = memchr(base + start, Int32(ASCII.lf), p.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Finds the end of a head (`isHead`) or trailer section starting at `start`: the index just
    /// past the empty line's CRLF, or nil when it is not all here yet. Resumes from `scan`
    /// and enforces the line-ending rule and the size, count and URI limits as it goes, so a
    /// peer can never make the parser buffer more than the limits allow.
    ///
    /// The error does not depend on how the bytes were cut into reads: where several rules are
    /// broken, the one a reader fed byte by byte meets first wins (the target limit when it is
    /// crossed no later than the section limit, then the section limit, then a bare CR or LF).
    private mutating func scanSection(_ p: UnsafeRawBufferPointer, from start: Int, isHead: Bool)
        throws(HTTPParseError) -> Int? {
        let maxLines = limits.maxHeaderCount + (isHead ? 1 : 0)
        let available = p.count - start
        while scan.scanned < available {
            guard let lfAbsolute = findLF(p, from: start + scan.scanned) else {
                scan.scanned = available
                break
            }
            let lf = lfAbsolute - start
            let crlf = lf > scan.lineStart && p[lfAbsolute - 1] == ASCII.cr
            if crlf && lf - 1 == scan.lineStart {
                return lfAbsolute + 1
            }
            let tooLarge = lf + 1 > limits.maxHeaderBytes
            if isHead && scan.lines == 0 && lf > limits.maxURIBytes {
                try checkURILength(p, from: start, to: lfAbsolute, sectionTooLarge: tooLarge)
            }
            if tooLarge { throw headersTooLarge(isHead) }
            guard crlf else { throw .bad("line not terminated by CRLF") }
            scan.lines += 1
            if scan.lines > maxLines { throw tooManyFields(isHead) }
            scan.lineStart = lf + 1
            scan.scanned = lf + 1
        }
        let partial = available - scan.lineStart
        let mayEndSection = partial == 0 || (partial == 1 && p[start + scan.lineStart] == ASCII.cr)
        let tooLarge = !mayEndSection && available > limits.maxHeaderBytes
        if isHead && scan.lines == 0 && available > limits.maxURIBytes {
            try checkURILength(p, from: start, to: p.count, sectionTooLarge: tooLarge)
        }
        if tooLarge { throw headersTooLarge(isHead) }
        return nil
    }

    /// Throws 414 when the (possibly partial) request line `p[start..<end]` (without its LF) has
    /// a target longer than the limit, unless the section limit was crossed first
    /// (`sectionTooLarge` and the target's limit falls after byte `maxHeaderBytes`). The target
    /// is measured up to a space, CR or LF, so a prefix of a line never measures longer than
    /// the whole line.
    private func checkURILength(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int,
                                sectionTooLarge: Bool) throws(HTTPParseError) {
        var i = start
        while i < end && p[i] != ASCII.space { i += 1 }
        guard i < end else { return }
        let targetStart = i + 1
        // The byte that makes the target too long, if it is here and the target runs that far.
        let crossing = targetStart + limits.maxURIBytes
        guard crossing < end else { return }
        i = targetStart
        while i <= crossing {
            let c = p[i]
            if c == ASCII.space || c == ASCII.cr || c == ASCII.lf { return }
            i += 1
        }
        if sectionTooLarge && crossing - start > limits.maxHeaderBytes { return }
        throw HTTPParseError(.uriTooLong, "request target longer than \(limits.maxURIBytes) bytes")
    }

    /// Parses `chunk-size [ chunk-ext ] CRLF` ending with the LF at `lf`; extensions are checked
    /// for forbidden bytes and otherwise ignored.
    private func parseChunkSizeLine(_ p: UnsafeRawBufferPointer, from start: Int, lf: Int) throws(HTTPParseError) -> Int {
        // The length first, as the partial line met it (`.chunkSize` in `consume`), so the error
        // does not depend on how the bytes were cut; then the line ending, then the exact limit.
        if lf - start > limits.maxChunkLineBytes + 1 { throw chunkLineTooLong() }
        guard lf > start && p[lf - 1] == ASCII.cr else { throw .bad("chunk-size line not terminated by CRLF") }
        let end = lf - 1
        if end - start > limits.maxChunkLineBytes { throw chunkLineTooLong() }
        var i = start
        var size = 0
        while i < end, let digit = hexValue(p[i]) {
            // Any size above the body limit is refused, so stop growing before overflow.
            if size <= limits.maxBodyBytes && size < 1 << 58 { size = size << 4 | Int(digit) }
            i += 1
        }
        guard i > start else { throw .bad("chunk size is not hexadecimal") }
        if size > limits.maxBodyBytes { throw bodyTooLarge() }
        while i < end && isOWS(p[i]) { i += 1 }
        guard i == end || p[i] == ASCII.semicolon else { throw .bad("invalid character after chunk size") }
        while i < end {
            guard isFieldValueByte(p[i]) else { throw .bad("control character in chunk extension") }
            i += 1
        }
        return size
    }

    // MARK: errors with the limit in the message

    private func headersTooLarge(_ isHead: Bool) -> HTTPParseError {
        HTTPParseError(.headersTooLarge,
                       "\(isHead ? "header" : "trailer") section larger than \(limits.maxHeaderBytes) bytes")
    }

    private func tooManyFields(_ isHead: Bool) -> HTTPParseError {
        HTTPParseError(.headersTooLarge, "more than \(limits.maxHeaderCount) \(isHead ? "header" : "trailer") fields")
    }

    private func bodyTooLarge() -> HTTPParseError {
        HTTPParseError(.bodyTooLarge, "body larger than \(limits.maxBodyBytes) bytes")
    }

    private func chunkLineTooLong() -> HTTPParseError {
        .bad("chunk-size line longer than \(limits.maxChunkLineBytes) bytes")
    }
}
