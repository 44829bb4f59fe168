// A resumable RFC 6455 frame decoder: bytes in, whole messages and control frames out, with
// every framing rule and size limit enforced as early as the bytes allow.
// A value type owned by one connection, and so by the loop thread that reads its socket; it
// holds no heap memory between frames, because the broker keeps many idle connections.

/// Turns a peer's bytes into `WebSocketEvent`s.
///
/// Feed whatever the socket gave with `feed(_:)`, then call `next()` until it returns nil.
/// `feed` does the work as the bytes arrive: a frame header is kept in 14 inline bytes, and a
/// payload is unmasked straight from the fed bytes into the message being assembled, so each
/// payload byte is copied once (and once more into a `String` for text). A single-frame text
/// message that arrives in one piece is unmasked directly into its `String`.
///
/// Rules (a violation fails the connection with the close code in brackets):
/// - a server's peer must mask every frame, a client's peer must mask none [1002];
/// - reserved bits RSV1-3 set (no extension is negotiated), reserved opcodes 0x3-0x7 and
///   0xB-0xF, a control frame that is fragmented or longer than 125 bytes, a 64-bit length
///   with its top bit set, a continuation with no message in progress, or a new text or
///   binary frame inside a fragmented message [1002];
/// - a frame longer than `maxFrameBytes`, or a message that would exceed `maxMessageBytes`,
///   refused from its header alone, before any of its payload is buffered [1009];
/// - text that is not UTF-8, checked as each piece arrives so a bad prefix fails at once; a
///   code point split across frames is fine, a message that ends inside one is not [1007];
/// - a close payload of 1 byte or with a code not allowed on the wire [1002], or a close reason
///   that is not UTF-8 [1007].
///
/// Lengths need not use the shortest encoding (a 5-byte payload with a 16-bit length is
/// accepted): RFC 6455 §5.2 says the minimal number of bytes "must" be used but gives the
/// receiver no duty to check, and refusing would only break sloppy clients.
///
/// Control frames inside a fragmented message are delivered at once, in order. After a close
/// frame the decoder stops: later bytes are ignored, as RFC 6455 §5.5.1 allows. After an error
/// the events decoded before it are still delivered, then `next()` throws, and keeps throwing.
public struct WebSocketDecoder {
    /// Which end of the connection this decoder serves; it decides the masking rule.
    public enum Role: Sendable {
        /// We are the server: every frame from the client must be masked.
        case server
        /// We are the client: no frame from the server may be masked.
        case client
    }

    /// Which end of the connection this decoder serves.
    public let role: Role
    /// The largest frame payload accepted, in bytes.
    public let maxFrameBytes: Int
    /// The largest reassembled message accepted, in bytes.
    public let maxMessageBytes: Int

    private enum State { case header, payload, closed, failed }
    private var state = State.header

    // A header split across reads waits here: at most 14 bytes, inline, never on the heap.
    private var headerBytes: (UInt64, UInt64) = (0, 0)
    private var headerCount = 0

    // The frame whose payload is arriving.
    private var frameOpcode = WebSocketOpcode.continuation
    private var frameFin = false
    private var frameMaskKey: UInt32?
    private var frameLength = 0
    private var frameRemaining = 0
    private var maskPhase = 0

    // The data message in progress (from its first frame's header to its final frame), the
    // payload gathered so far, and the UTF-8 state of text gathered so far.
    private var messageOpcode: WebSocketOpcode?
    private var message: [UInt8] = []
    private var utf8 = UTF8Validator()

    // The payload of a control frame split across reads.
    private var control: [UInt8] = []

    // Decoded events not yet taken by `next()`. The first waits in an inline slot so that the
    // usual one-event read allocates no queue.
    private var firstReady: WebSocketEvent?
    private var moreReady: [WebSocketEvent?] = []
    private var moreReadyIndex = 0
    private var failure: WebSocketProtocolError?

    /// A decoder for one connection, at the start of the stream.
    public init(role: Role, maxFrameBytes: Int = 1 << 20, maxMessageBytes: Int = 1 << 20) {
        precondition(maxFrameBytes >= 125 && maxMessageBytes >= 125, "BUG: WebSocket limits below 125 bytes")
        self.role = role
        self.maxFrameBytes = maxFrameBytes
        self.maxMessageBytes = maxMessageBytes
    }

    /// Bytes held for a frame or message not yet complete (header bytes, payload gathered so
    /// far). Zero between messages, when the decoder holds no buffer at all.
    public var bufferedByteCount: Int { headerCount + message.count + control.count }

    /// True once a close frame has been decoded; later input is ignored.
    public var hasReceivedClose: Bool { state == .closed }

    /// Takes the next decoded event, or nil when the bytes fed so far hold no more.
    /// Throws the protocol error that failed the stream once the events before it are taken.
    public mutating func next() throws(WebSocketProtocolError) -> WebSocketEvent? {
        if let event = firstReady {
            firstReady = nil
            return event
        }
        if moreReadyIndex < moreReady.count {
            // take() moves the event out, so its payload is not retained twice.
            let event = moreReady[moreReadyIndex].take()
            moreReadyIndex += 1
            if moreReadyIndex == moreReady.count {
                moreReady = []
                moreReadyIndex = 0
            }
            return event
        }
        if let failure { throw failure }
        return nil
    }

    /// Decodes `bytes` (the next bytes of the stream, in order); the results wait for `next()`.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Decodes `bytes` (the next bytes of the stream, in order); the results wait for `next()`.
    /// The bytes are not kept: what is needed is copied before this returns.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0, state == .header || state == .payload else { return }
        do throws(WebSocketProtocolError) {
            try process(base, bytes.count)
        } catch {
            failure = error
            state = .failed
            headerCount = 0
            message = []
            control = []
        }
    }

    // MARK: - Processing

    private mutating func process(_ base: UnsafeRawPointer, _ count: Int) throws(WebSocketProtocolError) {
        var i = 0
        while i < count {
            switch state {
            case .header:
                i += try consumeHeader(base + i, count - i)
            case .payload:
                i += try consumePayload(base + i, count - i)
            case .closed, .failed:
                return
            }
        }
    }

    /// A complete frame header.
    private struct FrameHeader {
        var size: Int
        var opcode: WebSocketOpcode
        var fin: Bool
        var maskKey: UInt32?
        var length: Int
    }

    /// Consumes header bytes; returns how many of the `count` bytes at `p` were used.
    private mutating func consumeHeader(_ p: UnsafeRawPointer, _ count: Int) throws(WebSocketProtocolError) -> Int {
        if headerCount == 0 {
            if let header = try parseHeader(p, count) {
                try beginFrame(header)
                return header.size
            }
            // Incomplete, so fewer than 14 bytes: keep them all.
            withUnsafeMutableBytes(of: &headerBytes) { $0.baseAddress?.copyMemory(from: p, byteCount: count) }
            headerCount = count
            return count
        }
        let old = headerCount
        let take = min(14 - old, count)
        // Work on a copy so that parsing (which reads self) does not overlap the write access.
        var scratch = headerBytes
        let header = try withUnsafeMutableBytes(of: &scratch) { (h) throws(WebSocketProtocolError) -> FrameHeader? in
            guard let hb = h.baseAddress else { return nil }
            (hb + old).copyMemory(from: p, byteCount: take)
            return try parseHeader(UnsafeRawPointer(hb), old + take)
        }
        guard let header else {
            headerBytes = scratch
            headerCount = old + take
            return take
        }
        headerCount = 0
        try beginFrame(header)
        return header.size - old
    }

    /// Checks and reads a frame header from the `count` bytes at `p`: the header once it is
    /// complete, or nil if more bytes are needed. Each rule is checked as soon as the bytes it
    /// needs are present, so a bad frame fails before its header is even complete.
    private func parseHeader(_ p: UnsafeRawPointer, _ count: Int) throws(WebSocketProtocolError) -> FrameHeader? {
        let b0 = p.load(as: UInt8.self)
        guard b0 & 0x70 == 0 else { throw .protocolError("reserved bits set") }
        let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) ?? .continuation
        guard opcode.isDefined else { throw .protocolError("reserved opcode \(opcode.rawValue)") }
        let fin = b0 & 0x80 != 0
        if opcode == .continuation {
            guard messageOpcode != nil else { throw .protocolError("continuation frame with no message") }
        } else if !opcode.isControl {
            guard messageOpcode == nil else { throw .protocolError("new message inside a fragmented message") }
        }
        guard count >= 2 else { return nil }

        let b1 = p.load(fromByteOffset: 1, as: UInt8.self)
        let masked = b1 & 0x80 != 0
        switch role {
        case .server: guard masked else { throw .protocolError("client frame not masked") }
        case .client: guard !masked else { throw .protocolError("server frame masked") }
        }
        let length7 = Int(b1 & 0x7F)
        if opcode.isControl {
            guard fin else { throw .protocolError("fragmented control frame") }
            guard length7 <= 125 else { throw .protocolError("control frame over 125 bytes") }
        }
        let lengthBytes = length7 == 126 ? 2 : (length7 == 127 ? 8 : 0)
        guard count >= 2 + lengthBytes else { return nil }

        let length: Int
        switch lengthBytes {
        case 2:
            length = Int(UInt16(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        case 8:
            let wide = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            guard wide >> 63 == 0 else { throw .protocolError("64-bit length with the top bit set") }
            length = Int(wide)
        default:
            length = length7
        }
        if !opcode.isControl {
            guard length <= maxFrameBytes else { throw .tooBig("frame over \(maxFrameBytes) bytes") }
            guard length <= maxMessageBytes - message.count else { throw .tooBig("message over \(maxMessageBytes) bytes") }
        }
        let size = 2 + lengthBytes + (masked ? 4 : 0)
        guard count >= size else { return nil }
        let key = masked ? UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 2 + lengthBytes, as: UInt32.self)) : nil
        return FrameHeader(size: size, opcode: opcode, fin: fin, maskKey: key, length: length)
    }

    /// Starts the frame whose header was just parsed; finishes it at once if it is empty.
    private mutating func beginFrame(_ header: FrameHeader) throws(WebSocketProtocolError) {
        frameOpcode = header.opcode
        frameFin = header.fin
        frameMaskKey = header.maskKey
        frameLength = header.length
        frameRemaining = header.length
        maskPhase = 0
        if frameOpcode == .text || frameOpcode == .binary {
            messageOpcode = frameOpcode
            if frameOpcode == .text { utf8.reset() }
        }
        state = .payload
        if frameLength == 0 { try finishFrame() }
    }

    /// Consumes payload bytes; returns how many of the `count` bytes at `p` were used.
    private mutating func consumePayload(_ p: UnsafeRawPointer, _ count: Int) throws(WebSocketProtocolError) -> Int {
        let take = min(frameRemaining, count)
        let whole = take == frameLength  // the entire payload is here, none gathered before
        if frameOpcode.isControl {
            if whole {
                control = Self.copyPayload(p, take, key: frameMaskKey)
            } else {
                maskPhase = Self.append(p, take, key: frameMaskKey, phase: maskPhase, reserve: frameRemaining, to: &control)
            }
        } else if whole && frameFin && frameOpcode == .text {
            // The common case, one text frame read at once: unmask straight into the String.
            frameRemaining = 0
            state = .header
            messageOpcode = nil
            emit(.text(try Self.makeText(p, take, key: frameMaskKey)))
            return take
        } else if whole && frameFin && frameOpcode == .binary {
            frameRemaining = 0
            state = .header
            messageOpcode = nil
            emit(.binary(Self.copyPayload(p, take, key: frameMaskKey)))
            return take
        } else {
            let start = message.count
            maskPhase = Self.append(p, take, key: frameMaskKey, phase: maskPhase, reserve: frameRemaining, to: &message)
            if messageOpcode == .text {
                let ok = message.withUnsafeBytes { utf8.validate(UnsafeRawBufferPointer(rebasing: $0[start...])) }
                guard ok else { throw .invalidPayload("text is not valid UTF-8") }
            }
        }
        frameRemaining -= take
        if frameRemaining == 0 { try finishFrame() }
        return take
    }

    /// Ends the frame whose payload is complete: emits a control event, or a data message if
    /// this was its final frame.
    private mutating func finishFrame() throws(WebSocketProtocolError) {
        state = .header
        if frameOpcode.isControl {
            let payload = control
            control = []
            switch frameOpcode {
            case .ping: emit(.ping(payload))
            case .pong: emit(.pong(payload))
            default:
                emit(try Self.parseClose(payload))
                state = .closed
                message = []
            }
            return
        }
        guard frameFin else { return }
        let payload = message
        message = []
        let opcode = messageOpcode
        messageOpcode = nil
        if opcode == .text {
            guard utf8.isComplete else { throw .invalidPayload("text ends inside a code point") }
            emit(.text(String(decoding: payload, as: UTF8.self)))
        } else {
            emit(.binary(payload))
        }
    }

    private mutating func emit(_ event: WebSocketEvent) {
        if firstReady == nil && moreReady.isEmpty {
            firstReady = event
        } else {
            if moreReady.isEmpty { moreReady.reserveCapacity(16) }
            moreReady.append(event)
        }
    }

    // MARK: - Payload helpers

    /// A new array holding `count` unmasked bytes from `p`.
    private static func copyPayload(_ p: UnsafeRawPointer, _ count: Int, key: UInt32?) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let out = buffer.baseAddress, count > 0 {
                if let key {
                    WebSocketMask.apply(key: key, phase: 0, count: count, from: p, to: UnsafeMutableRawPointer(out))
                } else {
                    UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: count)
                }
            }
            initialized = count
        }
    }

    /// Appends `count` unmasked bytes from `p` to `array`; returns the next mask phase.
    /// Grows the array at most to what the frame still promises (`reserve` bytes), and no more
    /// than doubling at a time, so a header that lies about its length costs no memory.
    private static func append(_ p: UnsafeRawPointer, _ count: Int, key: UInt32?, phase: Int, reserve: Int,
                               to array: inout [UInt8]) -> Int {
        let start = array.count
        if start + count > array.capacity {
            array.reserveCapacity(min(start + reserve, max(start + count, array.capacity * 2)))
        }
        array.append(contentsOf: UnsafeRawBufferPointer(start: p, count: count))
        guard let key else { return phase }
        return array.withUnsafeMutableBytes { all in
            guard let base = all.baseAddress else { return phase }
            return WebSocketMask.apply(key: key, phase: phase, count: count, from: base + start, to: base + start)
        }
    }

    /// The text of a single-frame message, unmasked directly into the String's storage.
    private static func makeText(_ p: UnsafeRawPointer, _ count: Int, key: UInt32?) throws(WebSocketProtocolError) -> String {
        var validator = UTF8Validator()
        let text = String(unsafeUninitializedCapacity: count) { buffer in
            guard let out = buffer.baseAddress else { return 0 }
            if let key {
                WebSocketMask.apply(key: key, phase: 0, count: count, from: p, to: UnsafeMutableRawPointer(out))
            } else {
                UnsafeMutableRawPointer(out).copyMemory(from: p, byteCount: count)
            }
            _ = validator.validate(UnsafeRawBufferPointer(start: out, count: count))
            return validator.isComplete ? count : 0
        }
        // Same reasons as the fragment path, so the outcome never depends on how reads split.
        guard !validator.hasFailed else { throw .invalidPayload("text is not valid UTF-8") }
        guard validator.isComplete else { throw .invalidPayload("text ends inside a code point") }
        return text
    }

    /// The event for a close frame's payload: empty, or a valid code and a UTF-8 reason.
    private static func parseClose(_ payload: [UInt8]) throws(WebSocketProtocolError) -> WebSocketEvent {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolError("close payload of 1 byte") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard WebSocketCloseCode.isValidOnWire(code) else { throw .protocolError("close code \(code) not allowed") }
        let reason = payload[2...]
        let valid = reason.withUnsafeBytes { UTF8Validator.isValid($0) }
        guard valid else { throw .invalidPayload("close reason is not valid UTF-8") }
        return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
    }
}
