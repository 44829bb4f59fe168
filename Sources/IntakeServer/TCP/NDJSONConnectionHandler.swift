// IntakeServer: one raw TCP connection speaking newline-delimited JSON (CONTRACT.md "Raw TCP").
// Owned by the connection's loop thread. Every line gets exactly one answer line, in the order
// the lines came, even though acknowledgements wait for the fsync: answers are slots in a FIFO
// that is written out from its head as slots fill. A bad line is answered with an error line;
// a line over the limit closes the connection. Each line takes a token of the connection's rate
// limit first; a line over it is answered `rate_limited` in its turn and not processed.
import IntakeNet
import IntakeWire
import IntakeJSON
import IntakeCore
import IntakeTelemetry
import PhoneChannel

final class NDJSONConnectionHandler: ConnectionHandler {
    let server: ServerContext
    private var framer: LineFramer
    private var account: AppAccount?
    /// Answers not yet written, oldest first; nil while waiting for the store.
    private var pending: [[UInt8]?] = []
    private var pendingHead = 0
    /// Slot number of `pending[pendingHead]`, so completions find their slot after removals.
    private var headSlot: UInt64 = 0
    private weak var connection: Connection?
    /// Lines per second on this connection (nil: no limit).
    private var rate: TokenBucket?
    /// Above this many unanswered lines we stop reading until the store catches up.
    static let maxInFlight = 1024

    init(server: ServerContext) {
        self.server = server
        framer = LineFramer(maxLineBytes: server.maxLineBytes)
        rate = server.tcpRate.bucket()
    }

    func connectionDidOpen(_ c: Connection) { connection = c }

    func connection(_ c: Connection, didRead bytes: UnsafeRawBufferPointer) {
        framer.feed(bytes)
        while c.isOpen {
            let line: ArraySlice<UInt8>?
            do {
                line = try framer.next()
            } catch {
                tcpLineErrors.increment()
                let e = ClientError("line_too_long", "a line is longer than \(error.limit) bytes; closing", status: .contentTooLarge)
                enqueue(e.ingestLine, c)
                c.closeAfterFlush()
                return
            }
            guard let line else { break }
            if line.isEmpty || line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            if rate != nil, !rate!.take(now: c.lastReadNanos) {  // the lines of one read arrived together
                refuseOverRate(c)
                continue
            }
            handleLine(line, c)
        }
        framer.release()
        if inFlight >= Self.maxInFlight { c.setReadingPaused(true) }
    }

    private var inFlight: Int { pending.count - pendingHead }

    private func handleLine(_ line: ArraySlice<UInt8>, _ c: Connection) {
        let json: JSON
        do {
            json = try JSON.parse(line)
        } catch {
            tcpLineErrors.increment()
            enqueue(ClientError.badJSON("line is not valid JSON: \(error)").ingestLine, c)
            return
        }
        guard case .object = json else {
            tcpLineErrors.increment()
            enqueue(ClientError.badJSON("each line must be a JSON object").ingestLine, c)
            return
        }
        if json["type"]?.stringValue == "auth" {
            authenticate(json, c)
            return
        }
        guard let app = account else {
            tcpLineErrors.increment()
            enqueue(ClientError.unauthorized("send {\"type\":\"auth\",\"account\":…,\"key\":…} first").ingestLine, c)
            return
        }
        if let t = json["type"]?.stringValue, PhoneEvent.lineTypes.contains(t) {
            phoneLine(json, app, c)
            return
        }
        if let t = json["type"]?.stringValue, t != "message" {
            tcpLineErrors.increment()
            enqueue(ClientError.unknownType("unknown line type '\(t)'").ingestLine, c)
            return
        }
        let envelope: Envelope
        do {
            envelope = try Envelope.decodeIngest(json)
        } catch {
            tcpLineErrors.increment()
            enqueue(ClientError.invalidEnvelope(error.message).ingestLine, c)
            return
        }
        guard envelope.account == app.account else {
            tcpLineErrors.increment()
            enqueue(ClientError.forbidden("this connection is authenticated for account '\(app.account)', not '\(envelope.account)'").ingestLine, c)
            return
        }
        submit(envelope, c)
    }

    /// Stores `envelope` and answers its line (in order) once it is durable.
    private func submit(_ envelope: Envelope, _ c: Connection, onAccepted: (@Sendable () -> Void)? = nil) {
        guard let ingestor = server.ingestor else {
            enqueue(ClientError.unavailable("the store is not ready").ingestLine, c)
            return
        }
        let slot = headSlot &+ UInt64(inFlight)
        pending.append(nil)
        let loop = c.loop
        let me = UnsafeSendableBox(value: self)
        ingestor.ingest(envelope) { outcome in
            if case .accepted = outcome { onAccepted?() }
            let line = outcome.line(idKey: "ack")
            if loop.inLoop { me.value.fill(slot: slot, line) } else { loop.execute { me.value.fill(slot: slot, line) } }
        }
    }

    // MARK: the call centre's feed (Channels/Phone; docs/PROTOCOL.md, "Phone")

    /// Calls streamed on this connection.
    private var calls: [String: CallTranscript] = [:]
    private var phoneSender: PhoneLineSender?
    /// Calls open on one connection at most (a feed that never ends its calls is refused).
    static let maxCalls = 10_000

    private func phoneLine(_ json: JSON, _ app: AppAccount, _ c: Connection) {
        let event: PhoneEvent
        do {
            event = try PhoneEvent.decode(json)
        } catch {
            tcpLineErrors.increment()
            enqueue(ClientError.invalidEnvelope(error.message).ingestLine, c)
            return
        }
        let sender = phoneSender ?? PhoneLineSender(loop: c.loop, handler: self)
        phoneSender = sender
        let hub = server.phoneHub
        switch event {
        case let .callStart(callId, caller, trunk, meta):
            guard trunk == app.account else {
                tcpLineErrors.increment()
                enqueue(ClientError.forbidden("this connection is authenticated for account '\(app.account)', not trunk '\(trunk)'").ingestLine, c)
                return
            }
            guard calls[callId] != nil || calls.count < Self.maxCalls else {
                enqueue(ClientError("too_many_calls", "more than \(Self.maxCalls) calls open on one connection; end some", status: .tooManyRequests).ingestLine, c)
                return
            }
            // One session per call: the citizen is the caller's number and the call id.
            let call = calls[callId] ?? CallTranscript(callId: callId, caller: caller + "#" + callId, trunk: trunk, meta: meta)
            calls[callId] = call
            hub.attach(callId: callId, account: app.account, sender)
            submit(PhoneAdapter.startEnvelope(call), c)
        case .segment(let segment):
            guard calls[segment.callId] != nil else {
                tcpLineErrors.increment()
                enqueue(ClientError("unknown_call", "no call_start for call '\(segment.callId)' on this connection (send it again after a reconnect: it is recognised as a repeat)",
                                    status: .badRequest).ingestLine, c)
                return
            }
            switch calls[segment.callId]!.apply(segment) {
            case .partial, .stalePartial:
                enqueue(JSON.object([("partial", .bool(true)), ("callId", .string(segment.callId)), ("seq", .int(Int64(segment.seq))),
                                     ("stored", .bool(false))]).serializedBytes, c)
            case .final(let envelope):
                submit(envelope, c)
            case .repeatedFinal:
                // A resend: the store recognises its dedupe key and answers "duplicate": true.
                submit(PhoneAdapter.envelope(for: segment, call: calls[segment.callId]!), c)
            }
        case let .callEnd(callId, reason):
            guard var call = calls[callId] else {
                tcpLineErrors.increment()
                enqueue(ClientError("unknown_call", "no call_start for call '\(callId)' on this connection", status: .badRequest).ingestLine, c)
                return
            }
            call.end(reason: reason)
            calls[callId] = nil
            let account = app.account
            submit(PhoneAdapter.endEnvelope(call), c) { hub.detach(callId: callId, account: account) }
        }
    }

    /// A line pushed by the broker (the `assign` of an accepted call), written at once.
    func pushLine(_ line: [UInt8]) {
        guard let c = connection, c.isOpen else { return }
        c.writeWith { out in
            out.append(contentsOf: line)
            out.append(0x0A)
        }
    }

    /// Answers a line over the connection's rate, in its turn, without looking at it.
    private func refuseOverRate(_ c: Connection) {
        RateKind.tcp.counter.increment()
        let wait = rate!.nanosUntilToken(now: c.lastReadNanos)
        let e = ClientError.rateLimited(RateKind.tcp.message(server.tcpRate, retryAfterNanos: wait) + "; the line was not processed")
        enqueue(JSON.object([("error", .string(e.code)), ("message", .string(e.message)),
                             ("retryAfterMs", .int(Int64(wait.retryAfterMillis)))]).serializedBytes, c)
    }

    private func authenticate(_ json: JSON, _ c: Connection) {
        guard let acct = json["account"]?.stringValue, let key = json["key"]?.stringValue else {
            enqueue(ClientError.badJSON("auth needs \"account\" and \"key\" strings").ingestLine, c)
            return
        }
        guard let app = server.apps.authenticate(account: acct, key: key) else {
            authFailures.increment()
            enqueue(ClientError.unauthorized("unknown account or wrong key").ingestLine, c)
            return
        }
        account = app
        enqueue(JSON.object([("type", "authenticated"), ("account", .string(app.account))]).serializedBytes, c)
    }

    /// Queues an answer that is ready now (behind any still waiting for the store).
    private func enqueue(_ line: [UInt8], _ c: Connection) {
        pending.append(line)
        drain(c)
    }

    private func fill(slot: UInt64, _ line: [UInt8]) {
        guard let c = connection, c.isOpen, slot >= headSlot else { return }
        let i = pendingHead + Int(slot - headSlot)
        guard i < pending.count else { return }
        pending[i] = line
        drain(c)
    }

    private func drain(_ c: Connection) {
        let wasFull = inFlight >= Self.maxInFlight
        while pendingHead < pending.count, let line = pending[pendingHead] {
            c.writeWith { out in
                out.append(contentsOf: line)
                out.append(0x0A)
            }
            pending[pendingHead] = nil
            pendingHead += 1
            headSlot &+= 1
        }
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: pending.capacity <= 64)
            pendingHead = 0
        } else if pendingHead > 1024 {
            pending.removeSubrange(0..<pendingHead)
            pendingHead = 0
        }
        if wasFull && inFlight < Self.maxInFlight / 2 && !closeWhenDrained { c.setReadingPaused(false) }
        if closeWhenDrained && inFlight == 0 { c.closeAfterFlush() }
    }

    func connectionTick(_ c: Connection, now: UInt64) {
        if inFlight == 0, now &- c.lastReadNanos > server.tcpIdleTimeoutNanos { c.closeAfterFlush() }
    }

    func connectionShouldClose(_ c: Connection) {
        // Finish the acknowledgements in flight; the group's grace period bounds the wait.
        c.setReadingPaused(true)
        if inFlight == 0 { c.closeAfterFlush() } else { closeWhenDrained = true }
    }

    private var closeWhenDrained = false

    func connectionDidClose(_ c: Connection, reason: CloseReason) {
        pending = []
        pendingHead = 0
    }
}

let tcpLineErrors = MetricsRegistry.shared.counter("intake_tcp_line_errors_total", help: "NDJSON lines answered with an error.")
let authFailures = MetricsRegistry.shared.counter("intake_auth_failures_total", help: "Requests refused for wrong or missing credentials.")
