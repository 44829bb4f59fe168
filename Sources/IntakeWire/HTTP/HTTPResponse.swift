// HTTPResponse: a complete response (status, headers, whole body) and its HTTP/1.1 encoding,
// with the constructors the endpoints use and the CONTRACT's JSON error body. Values built on
// any thread; encoded by the loop thread that owns the connection's write buffer.

/// A response with its whole body.
public struct HTTPResponse: Sendable, Equatable {
    /// The status line's code and reason.
    public var status: HTTPStatus
    /// Header fields, written in order. Content-Length and Transfer-Encoding are ignored (the
    /// encoder writes Content-Length from the body); Connection is ignored when closing.
    public var headers: HTTPHeaders
    /// The body; never written for 1xx, 204 and 304.
    public var body: [UInt8]

    /// A response of `status` with `headers` and `body`.
    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response with an already-encoded JSON body.
    public static func json(_ status: HTTPStatus, _ bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// The CONTRACT's error response: `{"error":"<code>","message":"<message>"}`.
    public static func error(status: HTTPStatus, code: String, message: String) -> HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(code.utf8.count + message.utf8.count + 24)
        body.append(contentsOf: #"{"error":""#.utf8)
        appendJSONString(code, to: &body)
        body.append(contentsOf: #"","message":""#.utf8)
        appendJSONString(message, to: &body)
        body.append(contentsOf: #""}"#.utf8)
        return .json(status, body)
    }

    /// The error response for a request the parser refused. Encode it with `keepAlive: false`:
    /// the parser accepts nothing after an error.
    public static func error(_ parseError: HTTPParseError) -> HTTPResponse {
        .error(status: parseError.status, code: parseError.code, message: parseError.message)
    }

    /// Appends the status line, `Date`, the headers, `Content-Length` (except for 1xx, 204 and
    /// 304), `Connection: close` when `!keepAlive`, the empty line and the body to `out`.
    public func encode(into out: inout [UInt8], keepAlive: Bool) {
        let hasContent = !status.forbidsContent
        let bodyBytes = hasContent ? body.count : 0
        out.reserveCapacity(out.count + 96 + headers.storage.count + 4 * headers.count + bodyBytes)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &out)
        out.append(ASCII.space)
        out.append(contentsOf: status.reasonPhrase.utf8)
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        HTTPDate.appendHeader(into: &out)
        headers.write(into: &out) { i in
            !(headers.nameEquals(at: i, "content-length") || headers.nameEquals(at: i, "transfer-encoding")
                || headers.nameEquals(at: i, "date") || (!keepAlive && headers.nameEquals(at: i, "connection")))
        }
        if hasContent {
            out.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(body.count, to: &out)
            out.append(ASCII.cr)
            out.append(ASCII.lf)
        }
        if !keepAlive { out.append(contentsOf: "Connection: close\r\n".utf8) }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        if hasContent { out.append(contentsOf: body) }
    }
}

private func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    precondition(value >= 0, "BUG: negative decimal in an HTTP head")
    var divisor = 1
    while divisor <= value / 10 { divisor *= 10 }
    while divisor > 0 {
        out.append(0x30 + UInt8(value / divisor % 10))
        divisor /= 10
    }
}

/// Appends `s` as the inside of a JSON string (RFC 8259 §7): `"` and `\` escaped, control
/// characters as `\n`, `\r`, `\t` or `\u00XX`; everything else as UTF-8.
func appendJSONString(_ s: String, to out: inout [UInt8]) {
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    for c in s.utf8 {
        switch c {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, c])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, c])
        case ASCII.lf: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case ASCII.cr: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case ASCII.tab: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            out.append(contentsOf: Array(#"\u00"#.utf8))
            out.append(hex[Int(c >> 4)])
            out.append(hex[Int(c & 0xF)])
        default: out.append(c)
        }
    }
}
