// HTTPRequestParser+Head: parsing one complete head (request line and header fields) or
// trailer section out of contiguous bytes, and choosing the body framing (RFC 9112 §3, §5,
// §6.3). Runs inside `feed` on the connection's loop thread; pure functions of the bytes.

extension HTTPRequestParser {
    /// How the body of a request is delimited.
    enum Framing: Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    /// What the framing and connection rules need from the header fields, gathered in the one
    /// pass that validates them.
    struct HeadFacts {
        var hostCount = 0
        var contentLength: Int?
        var transferEncodingSeen = false
        var chunkedCount = 0
        var chunkedNotLast = false
        var otherCodingSeen = false
        var connectionClose = false
        var connectionKeepAlive = false
        var connectionUpgrade = false
        var upgradeValue: Range<Int>?
    }

    /// Parses the head in `p[start..<end]` (which ends with the empty line's CRLF; every LF in
    /// it is known to follow a CR).
    func parseHead(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int)
        throws(HTTPParseError) -> (HTTPRequestHead, Framing) {
        // The section ends in CRLF CRLF and CR is in none of the byte classes below, so these
        // loops stop inside it.
        var i = start
        while isTokenByte(p[i]) { i += 1 }
        guard i > start && p[i] == ASCII.space else { throw .bad("malformed method in request line") }
        let methodEnd = i
        i += 1
        let targetStart = i
        while isTargetByte(p[i]) && p[i] != 0x23 { i += 1 }
        let targetEnd = i
        if p[i] == 0x23 { throw .bad("fragment in request target") }
        guard targetEnd > targetStart && p[i] == ASCII.space else { throw .bad("malformed request target") }
        if targetEnd - targetStart > limits.maxURIBytes {
            throw HTTPParseError(.uriTooLong, "request target longer than \(limits.maxURIBytes) bytes")
        }
        i += 1
        let version = try parseVersion(p, at: i, end: end)
        i += 10

        let method = string(p, start, methodEnd)
        var facts = HeadFacts()
        let headers = try parseFields(p, from: i, to: end, lines: scan.lines - 1, facts: &facts)
        let framing = try framing(facts, version: version)

        let keepAlive = version.minor >= 1 ? !facts.connectionClose : facts.connectionKeepAlive && !facts.connectionClose
        var upgradeProtocol: String?
        if version.minor >= 1 && facts.connectionUpgrade, let range = facts.upgradeValue, !range.isEmpty {
            upgradeProtocol = string(p, range.lowerBound, range.upperBound)
        }
        let target = string(p, targetStart, targetEnd)
        let (path, query) = try splitTarget(p, targetStart, targetEnd, target: target, method: method)
        let head = HTTPRequestHead(method: method, target: target, path: path, query: query, version: version,
                                   headers: headers, keepAlive: keepAlive, isUpgrade: upgradeProtocol != nil,
                                   upgradeProtocol: upgradeProtocol)
        return (head, framing)
    }

    /// Parses header or trailer lines in `p[start..<end]`, the last two bytes being the empty
    /// line's CRLF. Collects `facts` for the framing rules when given a head.
    func parseFields(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int, lines: Int) throws(HTTPParseError) -> HTTPHeaders {
        var ignored = HeadFacts()
        return try parseFields(p, from: start, to: end, lines: lines, facts: &ignored)
    }

    private func parseFields(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int, lines: Int,
                             facts: inout HeadFacts) throws(HTTPParseError) -> HTTPHeaders {
        let last = end - 2
        guard last > start else { return HTTPHeaders() }
        var fields: [HTTPHeaders.Field] = []
        fields.reserveCapacity(lines)
        var i = start
        while i < last {
            if isOWS(p[i]) { throw .bad("header line starts with whitespace (obs-fold)") }
            let nameStart = i
            while isTokenByte(p[i]) { i += 1 }
            guard p[i] == ASCII.colon else {
                throw .bad(isOWS(p[i]) ? "whitespace before colon in header field" : "invalid character in header name")
            }
            guard i > nameStart else { throw .bad("empty header name") }
            let nameEnd = i
            i += 1
            while isOWS(p[i]) { i += 1 }
            let valueStart = i
            i = try endOfFieldValue(p, from: i, limit: last)
            guard p[i + 1] == ASCII.lf else { throw .bad("bare CR in header field") }
            var valueEnd = i
            while valueEnd > valueStart && isOWS(p[valueEnd - 1]) { valueEnd -= 1 }
            i += 2
            try noteField(p, nameStart, nameEnd, valueStart, valueEnd, &facts)
            fields.append(HTTPHeaders.Field(nameStart: UInt32(nameStart - start), nameEnd: UInt32(nameEnd - start),
                                            valueStart: UInt32(valueStart - start), valueEnd: UInt32(valueEnd - start)))
        }
        return HTTPHeaders(storage: copyBytes(UnsafeRawBufferPointer(rebasing: p[start..<last])), fields: fields)
    }

    /// The index of the CR ending the field value that starts at `i`, checking that every
    /// byte before it is a field-value byte. Eight bytes at a time while none is a control
    /// character or DEL (the common case), byte by byte around the ones that are.
    @inline(__always)
    private func endOfFieldValue(_ p: UnsafeRawBufferPointer, from start: Int, limit: Int) throws(HTTPParseError) -> Int {
        var i = start
        while true {
            if i + 8 <= limit && !wordMayHoldControlByte(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
                continue
            }
            let stop = min(i + 8, limit + 1)
            while i < stop {
                let c = p[i]
                if c == ASCII.cr { return i }
                guard isFieldValueByte(c) else { throw .bad("control character in header value") }
                i += 1
            }
        }
    }

    /// Records what the framing and connection rules need from one field.
    @inline(__always)
    private func noteField(_ p: UnsafeRawBufferPointer, _ nameStart: Int, _ nameEnd: Int,
                           _ valueStart: Int, _ valueEnd: Int, _ facts: inout HeadFacts) throws(HTTPParseError) {
        let name = UnsafeRawBufferPointer(rebasing: p[nameStart..<nameEnd])
        let value = UnsafeRawBufferPointer(rebasing: p[valueStart..<valueEnd])
        switch name.count {
        case 4 where equalsLowercased(name, "host"):
            facts.hostCount += 1
            if facts.hostCount > 1 { throw .bad("more than one Host header") }
        case 7 where equalsLowercased(name, "upgrade"):
            if facts.upgradeValue == nil { facts.upgradeValue = valueStart..<valueEnd }
        case 10 where equalsLowercased(name, "connection"):
            forEachListElement(value) { token in
                if equalsLowercased(token, "close") { facts.connectionClose = true }
                else if equalsLowercased(token, "keep-alive") { facts.connectionKeepAlive = true }
                else if equalsLowercased(token, "upgrade") { facts.connectionUpgrade = true }
            }
        case 14 where equalsLowercased(name, "content-length"):
            let length = try parseContentLength(value)
            if let previous = facts.contentLength, previous != length {
                throw .bad("differing Content-Length values")
            }
            facts.contentLength = length
        case 17 where equalsLowercased(name, "transfer-encoding"):
            facts.transferEncodingSeen = true
            var empty = false
            forEachListElement(value) { coding in
                if coding.isEmpty {
                    empty = true
                } else if equalsLowercased(coding, "chunked") {
                    facts.chunkedCount += 1
                } else {
                    if facts.chunkedCount > 0 { facts.chunkedNotLast = true }
                    facts.otherCodingSeen = true
                }
            }
            if empty { throw .bad("empty transfer coding") }
        default:
            break
        }
    }

    /// `1*DIGIT`, nothing else (no sign, no list); saturates far above any body limit.
    private func parseContentLength(_ value: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        guard !value.isEmpty else { throw .bad("empty Content-Length") }
        var length = 0
        for c in value {
            guard c >= 0x30 && c <= 0x39 else { throw .bad("Content-Length is not a decimal number") }
            if length < 1 << 53 { length = length * 10 + Int(c - 0x30) }
        }
        return length
    }

    /// RFC 9112 §6.3, strict: TE with CL, TE in HTTP/1.0 and chunked twice are 400 (the length
    /// cannot be trusted: request smuggling); any coding but chunked is 501, since chunked is
    /// the only one implemented (this covers `chunked, identity` and `gzip`).
    private func framing(_ facts: HeadFacts, version: HTTPVersion) throws(HTTPParseError) -> Framing {
        if facts.transferEncodingSeen {
            if facts.contentLength != nil { throw .bad("both Transfer-Encoding and Content-Length") }
            if version.minor == 0 { throw .bad("Transfer-Encoding in an HTTP/1.0 request") }
            if facts.chunkedCount > 1 { throw .bad("chunked transfer coding applied more than once") }
            if facts.otherCodingSeen {
                throw HTTPParseError(.notImplemented, facts.chunkedNotLast || facts.chunkedCount == 0
                    ? "transfer coding other than chunked as the final coding"
                    : "transfer coding other than chunked")
            }
            return .chunked
        }
        if let length = facts.contentLength { return .contentLength(length) }
        return .none
    }

    /// `HTTP/` DIGIT `.` DIGIT CRLF at `i`.
    private func parseVersion(_ p: UnsafeRawBufferPointer, at i: Int, end: Int) throws(HTTPParseError) -> HTTPVersion {
        guard end - i >= 10,
              p[i] == 0x48, p[i + 1] == 0x54, p[i + 2] == 0x54, p[i + 3] == 0x50, p[i + 4] == ASCII.slash,
              p[i + 5] >= 0x30 && p[i + 5] <= 0x39, p[i + 6] == 0x2E, p[i + 7] >= 0x30 && p[i + 7] <= 0x39,
              p[i + 8] == ASCII.cr, p[i + 9] == ASCII.lf
        else { throw .bad("malformed HTTP version") }
        let version = HTTPVersion(major: Int(p[i + 5] - 0x30), minor: Int(p[i + 7] - 0x30))
        guard version == .http1_1 || version == .http1_0 else {
            throw HTTPParseError(.versionNotSupported, "HTTP version \(version.major).\(version.minor) not supported")
        }
        return version
    }

    /// Splits the target into the decoded path and the raw query, by its form (RFC 9112 §3.2).
    private func splitTarget(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, target: String,
                             method: String) throws(HTTPParseError) -> (String, String?) {
        if method == "CONNECT" {
            // authority-form: host ":" port, nothing else.
            let t = UnsafeRawBufferPointer(rebasing: p[start..<end])
            guard t.contains(ASCII.colon), !t.contains(ASCII.slash), !t.contains(ASCII.question), t[0] != ASCII.colon else {
                throw .bad("CONNECT needs an authority-form target")
            }
            return (target, nil)
        }
        if p[start] == ASCII.slash { return try pathAndQuery(p, start, end, target: target) }
        if end - start == 1 && p[start] == 0x2A {
            guard method == "OPTIONS" else { throw .bad("asterisk-form target is for OPTIONS only") }
            return (target, nil)
        }
        // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
        var i = start
        guard isAlpha(p[i]) else { throw .bad("invalid request target") }
        while i < end && (isAlpha(p[i]) || (p[i] >= 0x30 && p[i] <= 0x39) || p[i] == ASCII.plus || p[i] == 0x2D || p[i] == 0x2E) {
            i += 1
        }
        guard end - i > 3, p[i] == ASCII.colon, p[i + 1] == ASCII.slash, p[i + 2] == ASCII.slash else {
            throw .bad("invalid request target")
        }
        i += 3
        let authorityStart = i
        while i < end && p[i] != ASCII.slash && p[i] != ASCII.question { i += 1 }
        guard i > authorityStart else { throw .bad("absolute-form target without authority") }
        if i == end { return ("/", nil) }
        if p[i] == ASCII.question { return ("/", string(p, i + 1, end)) }
        return try pathAndQuery(p, i, end, target: nil)
    }

    /// Decodes the path of `p[start..<end]` (which starts with `/`) and splits off the query.
    /// `target` is the String of exactly these bytes when known, reused when nothing changes.
    private func pathAndQuery(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int,
                              target: String?) throws(HTTPParseError) -> (String, String?) {
        var i = start
        var hasPercent = false
        while i < end && p[i] != ASCII.question {
            if p[i] == ASCII.percent { hasPercent = true }
            i += 1
        }
        let query: String? = i < end ? string(p, i + 1, end) : nil
        let path: String
        if hasPercent {
            do {
                path = try percentDecodeStrict(UnsafeRawBufferPointer(rebasing: p[start..<i]))
            } catch {
                switch error {
                case .badEscape: throw .bad("invalid percent-encoding in path")
                case .nul: throw .bad("NUL in path")
                case .invalidUTF8: throw .bad("path is not valid UTF-8")
                }
            }
        } else if i == end, let target {
            path = target
        } else {
            path = string(p, start, i)
        }
        return (path, query)
    }

    @inline(__always)
    private func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

    /// A String of `p[start..<end]`; callers pass only bytes already checked to be ASCII or
    /// valid field bytes (obs-text that is not UTF-8 becomes U+FFFD).
    @inline(__always)
    private func string(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
    }
}
