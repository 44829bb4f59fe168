// IntakeCore/Broker: the outbox of replies that leave the broker through a channel's own API
// (app webhooks, later the WeChat customer-service API): `outboundQueued` (type 15) when a reply
// is to be delivered, `outboundDone` (type 16) when it was delivered or given up. The pending
// ones are part of the state (and of the snapshot), so a reply not yet delivered is found again
// after a restart. Value types; core thread (or start-up replay). docs/STORAGE.md, "Outbox".

/// A reply to deliver through a channel's API, written in the same batch as its `replied` record.
public struct OutboundQueued: Sendable, Equatable {
    /// The reply's id (the `replied` record's): the delivery id the receiver dedupes on.
    public var id: String
    public var session: String
    public var channel: Channel
    public var account: String
    public var citizen: String
    public var from: Replied.From
    /// The agent's display name ("" for the bot).
    public var agentName: String
    public var text: String
    /// When the reply was stored; expiry counts from here.
    public var at: EpochMillis

    /// An outboundQueued record.
    public init(id: String, session: String, channel: Channel, account: String, citizen: String, from: Replied.From,
                agentName: String, text: String, at: EpochMillis) {
        self.id = id
        self.session = session
        self.channel = channel
        self.account = account
        self.citizen = citizen
        self.from = from
        self.agentName = agentName
        self.text = text
        self.at = at
    }
}

/// The end of one outbound delivery: it leaves the outbox.
public struct OutboundDone: Sendable, Equatable {
    /// How it ended.
    public enum Result: String, Sendable, Equatable, CaseIterable {
        /// The receiver answered 2xx (or the channel API said ok).
        case delivered
        /// The receiver refused it for good (a 4xx other than 408/425/429, a channel API error).
        case rejected
        /// Not delivered before the retry schedule's expiry.
        case expired
        /// WeChat: the citizen's last message is older than the 48-hour window.
        case outsideWindow = "outside_48h"

        var code: UInt8 { UInt8(Self.allCases.firstIndex(of: self)!) }
    }

    public var id: String
    public var result: Result
    /// Attempts made by the process that finished it (attempts before a restart are not counted).
    public var attempts: Int
    public var at: EpochMillis

    /// An outboundDone record.
    public init(id: String, result: Result, attempts: Int, at: EpochMillis) {
        self.id = id
        self.result = result
        self.attempts = attempts
        self.at = at
    }
}

extension OutboundQueued {
    func write(to w: inout ByteWriter) {
        w.string(id)
        w.string(session)
        w.u8(BrokerState.channelCode(channel))
        w.string(account)
        w.string(citizen)
        w.u8(from.code)
        w.string(agentName)
        w.string(text)
        w.i64(at)
    }

    static func read(_ r: inout ByteReader) throws(BrokerCodecError) -> OutboundQueued {
        let id = try r.string(), session = try r.string()
        let channel = try BrokerState.channel(code: try r.u8())
        let account = try r.string(), citizen = try r.string()
        let code = try r.u8()
        guard let from = Replied.From(code: code) else { throw BrokerCodecError("outboundQueued: unknown sender \(code)") }
        return OutboundQueued(id: id, session: session, channel: channel, account: account, citizen: citizen, from: from,
                              agentName: try r.string(), text: try r.string(), at: try r.i64())
    }
}

extension OutboundDone {
    func write(to w: inout ByteWriter) {
        w.string(id)
        w.u8(result.code)
        w.u32(UInt32(clamping: attempts))
        w.i64(at)
    }

    static func read(_ r: inout ByteReader) throws(BrokerCodecError) -> OutboundDone {
        let id = try r.string()
        let code = Int(try r.u8())
        guard code < Result.allCases.count else { throw BrokerCodecError("outboundDone: unknown result \(code)") }
        return OutboundDone(id: id, result: Result.allCases[code], attempts: Int(try r.u32()), at: try r.i64())
    }
}

extension BrokerState {
    /// Applies the outbox records (called from `apply`).
    mutating func applyOutbound(_ record: BrokerRecord) {
        switch record {
        case .outboundQueued(let q): outbound[q.id] = q
        case .outboundDone(let d): outbound[d.id] = nil
        default: break
        }
    }

    /// The outbox as a snapshot section (version 4): u32 n, then n items.
    func writeOutbound(to w: inout ByteWriter) {
        w.u32(UInt32(outbound.count))
        for q in outbound.values.sorted(by: { $0.id < $1.id }) { q.write(to: &w) }
    }

    mutating func readOutbound(_ r: inout ByteReader) throws(BrokerCodecError) {
        for _ in 0..<Int(try r.u32()) {
            let q = try OutboundQueued.read(&r)
            outbound[q.id] = q
        }
    }
}
