// Newline-delimited JSON over raw TCP (CONTRACT.md "Raw TCP"), the wire of `intake-bench ingest`:
// an optional auth line first, then one Envelope line per request and one answer line each
// (`{"ack":…}` or `{"error":…}`). Immutable; any thread.

/// NDJSON request/answer framing for ClientLoop.
struct NDJSONClientProtocol: WireProtocol {
    static let headroom = 0
    static let trailer = 1  // the newline
    /// Longest answer line accepted.
    static let maxLineBytes = 1 << 20

    /// The `{"type":"auth",…}` line sent first, if any. The contract defines no answer to it, so none
    /// is awaited; an error answer would be taken as the first request's answer and counted as an error.
    let authLine: String?
    var awaitsHandshakeResponse: Bool { false }

    func openingRequest() -> (request: [UInt8], expectation: String) {
        (authLine.map { Array(($0 + "\n").utf8) } ?? [], "")
    }

    func parseHandshake(_ input: UnsafeRawBufferPointer, expectation: String) -> HandshakeStatus { .done(consumed: 0) }

    @inline(__always)
    func frame(_ buffer: UnsafeMutableRawPointer, bodyStart: Int, bodyCount: Int, rng: inout FastRNG) -> (start: Int, count: Int) {
        buffer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: bodyStart + bodyCount, as: UInt8.self)
        return (bodyStart, bodyCount + 1)
    }

    func pong(_ payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, rng: inout FastRNG) -> Int { 0 }

    @inline(__always)
    func next(_ input: UnsafeMutableRawBufferPointer) -> Incoming {
        guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else {
            return input.count > Self.maxLineBytes ? .fatal("answer line over \(Self.maxLineBytes) bytes") : .needMore
        }
        return .data(consumed: newline + 1, payloadStart: 0, payloadCount: newline)
    }
}
