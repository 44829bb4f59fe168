// Fuzz target `http`: IntakeWire's HTTP/1.1 request parser on an arbitrary byte stream.
//
// Input: byte 0 chooses the limits (bit 0: small limits, so every limit is reachable with small
// inputs), byte 1 seeds the random chunking; the rest is what a peer sends on one connection.
// Invariants beyond "never crashes or hangs":
// - resumability: whole, in random pieces and byte by byte, the parser hands out the same
//   requests, then the same error (or none), and after an upgrade the same remaining bytes;
// - bounded memory: outside an upgrade, the bytes it holds never exceed what the limits allow;
// - sticky errors: once `next()` throws, it throws the same error again;
// - every request it accepts is sane and re-serializes: written back as a plain request
//   (same request line, same fields, the body with a Content-Length) it parses to the same
//   request; a Content-Length body has exactly that length; the body is within maxBodyBytes.
@testable import IntakeWire  // HTTPHeaders' byte-level access (the module is built with -enable-testing)

private let smallLimits = HTTPLimits(maxHeaderBytes: 256, maxBodyBytes: 300, maxHeaderCount: 6, maxURIBytes: 64,
                                     maxChunkLineBytes: 24)

/// What a parser made of one way of feeding the stream.
private struct Outcome: Equatable {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError?
    var remaining: [UInt8] = []
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(fuzzBytes(data, size))
    let limits = input.byte() & 1 == 1 ? smallLimits : HTTPLimits()
    let seed = UInt64(input.byte())
    let stream = input.rest()

    var first: (String, Outcome)?
    for (name, pieces) in chunkings(of: stream, seed: seed) {
        let outcome = parse(pieces, limits: limits)
        if let (firstName, expected) = first {
            check(outcome == expected, "\(name) gave \(outcome.requests.count) requests, error \(String(describing: outcome.error)); "
                  + "\(firstName) gave \(expected.requests.count), \(String(describing: expected.error)): \(show(stream))")
        } else {
            first = (name, outcome)
        }
    }
    guard let outcome = first?.1 else { return 0 }
    for request in outcome.requests { checkAccepted(request, limits: limits) }
    if let error = outcome.error {
        check([400, 413, 414, 431, 501, 505].contains(error.status.code), "unexpected status \(error.status.code) for \(error)")
    }
    return 0
}

private func parse(_ pieces: [ArraySlice<UInt8>], limits: HTTPLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var out = Outcome()
    // What one connection may make the parser hold: a head (or trailers) up to the limit with
    // its CRLFs, a chunk-size line, and the body so far.
    let bound = limits.maxHeaderBytes + 4 + limits.maxChunkLineBytes + 2 + limits.maxBodyBytes
    for piece in pieces {
        piece.withUnsafeBytes { parser.feed($0) }
        if !parser.isUpgraded {
            check(parser.bufferedByteCount <= bound, "parser holds \(parser.bufferedByteCount) bytes, more than the limits allow (\(bound))")
        }
        do {
            while let r = try parser.next() { out.requests.append(r) }
        } catch {
            out.error = error
            do {
                _ = try parser.next()
                fatalError("FUZZ INVARIANT: next() stopped throwing after \(error)")
            } catch let again {
                check(again == error, "next() threw \(error), then \(again)")
            }
            break
        }
    }
    out.remaining = parser.takeRemainingBytes()
    return out
}

/// Facts every accepted request must show, and the re-serialization round trip.
private func checkAccepted(_ r: HTTPRequest, limits: HTTPLimits) {
    let head = r.head
    check(!head.method.isEmpty && head.method.utf8.allSatisfy(isToken), "method \(head.method) is not a token")
    check(head.version == .http1_0 || head.version == .http1_1, "version \(head.version)")
    check(!head.target.isEmpty && head.target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "target \(head.target)")
    check(head.target.utf8.count <= limits.maxURIBytes, "target over maxURIBytes")
    check(r.body.count <= limits.maxBodyBytes, "body of \(r.body.count) bytes over maxBodyBytes")
    check(head.headers.count <= limits.maxHeaderCount, "\(head.headers.count) fields over maxHeaderCount")
    check(r.trailers.count <= limits.maxHeaderCount, "\(r.trailers.count) trailer fields over maxHeaderCount")
    for (name, value) in Array(head.headers) + Array(r.trailers) {
        check(!name.isEmpty && name.utf8.allSatisfy(isToken), "field name \(name) is not a token")
        check(!value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }, "control character in the value of \(name)")
        check(value.first != " " && value.first != "\t" && value.last != " " && value.last != "\t", "value of \(name) not trimmed")
    }
    check(head.headers.values(for: "Host").count <= 1, "more than one Host accepted")
    if head.headers.contains("Transfer-Encoding") {
        check(!head.headers.contains("Content-Length"), "Transfer-Encoding and Content-Length both accepted")
        check(head.version == .http1_1, "Transfer-Encoding accepted in HTTP/1.0")
    } else if let cl = head.headers["Content-Length"] {
        check(Int(cl) == r.body.count, "Content-Length \(cl) but a body of \(r.body.count) bytes")
    } else {
        check(r.body.isEmpty, "a body without Content-Length or Transfer-Encoding")
    }
    if head.isUpgrade {
        check(head.version == .http1_1 && head.upgradeProtocol != nil && head.headers.contains("Connection", token: "upgrade"),
              "upgrade without HTTP/1.1, Upgrade and Connection: upgrade")
    }
    if head.target.hasPrefix("/") { check(head.path.hasPrefix("/"), "origin-form target \(head.target) with path \(head.path)") }

    // Written back in the plainest form: same request line and fields, byte for byte (framing
    // fields replaced by one Content-Length), the decoded body.
    var out = Array("\(head.method) \(head.target) \(head.version)\r\n".utf8)
    let isFraming = { (h: HTTPHeaders, i: Int) in h.nameEquals(at: i, "content-length") || h.nameEquals(at: i, "transfer-encoding") }
    head.headers.write(into: &out) { !isFraming(head.headers, $0) }
    if !r.body.isEmpty { out += Array("Content-Length: \(r.body.count)\r\n".utf8) }
    out += Array("\r\n".utf8)
    out += r.body
    // Lenient limits for the copy: ": " may add a byte per field, Content-Length a field.
    let roomy = HTTPLimits(maxHeaderBytes: 2 * limits.maxHeaderBytes + 64, maxBodyBytes: limits.maxBodyBytes,
                           maxHeaderCount: limits.maxHeaderCount + 1, maxURIBytes: limits.maxURIBytes,
                           maxChunkLineBytes: limits.maxChunkLineBytes)
    var parser = HTTPRequestParser(limits: roomy)
    parser.feed(out)
    let again: HTTPRequest?
    do {
        again = try parser.next()
    } catch {
        fatalError("FUZZ INVARIANT: re-serialized request refused (\(error)): \(show(out, limit: 400))")
    }
    guard let again else { fatalError("FUZZ INVARIANT: re-serialized request incomplete: \(show(out, limit: 400))") }
    let a = again.head, b = head
    check(a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query && a.version == b.version,
          "request line changed: \(a.method) \(a.target) \(a.path) vs \(b.method) \(b.target) \(b.path)")
    check(a.keepAlive == b.keepAlive && a.isUpgrade == b.isUpgrade && a.upgradeProtocol == b.upgradeProtocol,
          "connection facts changed after re-serialization: \(show(out, limit: 400))")
    check(again.body == r.body, "body changed after re-serialization")
    // Field bytes, framing fields left out, names lower-cased.
    let fields = { (h: HTTPHeaders) -> [[UInt8]] in
        h.fields.indices.filter { !isFraming(h, $0) }.map { i in
            h.withNameBytes(at: i) { $0.map { $0 | (($0 >= 0x41 && $0 <= 0x5A) ? 0x20 : 0) } } + [0x3A] + h.withValueBytes(at: i) { Array($0) }
        }
    }
    check(fields(a.headers) == fields(b.headers), "fields changed after re-serialization: \(show(out, limit: 400))")
    check(a.queryItems().map { "\($0.0)=\($0.1)" } == b.queryItems().map { "\($0.0)=\($0.1)" }, "query items changed")
}

private func isToken(_ c: UInt8) -> Bool {
    switch c {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
    }
}
