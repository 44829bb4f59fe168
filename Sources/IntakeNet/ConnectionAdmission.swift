// IntakeNet: who may open one more connection. The acceptor (loop 0) admits each accepted socket
// against the group's total and per-IP limits; any loop releases its connection's slot when it
// closes. The counts are an atomic (total) and a mutex-protected table (per peer), a leaf lock
// taken once per accept and once per close.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import IntakeTelemetry

/// What the per-IP connection limit counts by: a peer's IPv4 address (also when it arrives as an
/// IPv4-mapped IPv6 address on a dual-stack listener), or the /64 prefix of its IPv6 address.
/// One host or home network normally holds a whole IPv6 /64, so counting single IPv6 addresses
/// would let one client take as many slots as it has addresses.
public struct PeerKey: Hashable, Sendable, CustomStringConvertible {
    let high: UInt64
    let low: UInt64

    /// From a peer address in 16-byte IPv6 form (cil_accept_peer's output).
    init(ipv6 b: UnsafeRawBufferPointer) {
        precondition(b.count == 16, "BUG: a peer address has 16 bytes")
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
        let mappedIPv4 = hi == 0 && lo >> 32 == 0xFFFF
        high = hi
        low = mappedIPv4 ? lo : 0
    }

    /// An IPv4 address as text (for tests and logs at debug level), or the IPv6 /64 prefix.
    public var description: String {
        if high == 0 && low >> 32 == 0xFFFF {
            let a = UInt32(truncatingIfNeeded: low)
            return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
        }
        let groups = (0..<4).map { String(high >> (48 - 16 * UInt64($0)) & 0xFFFF, radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

/// Open connections of a group, in total and per peer, against its limits. Any thread.
final class ConnectionAdmission: Sendable {
    enum Outcome { case admitted, overTotal, overPerIP }

    private let maxTotal: Int
    private let maxPerPeer: Int
    private let total = Atomic<Int>(0)
    private let perPeer = Mutex<[PeerKey: Int]>([:])

    init(limits: ConnectionLimits) {
        maxTotal = limits.maxConnections
        maxPerPeer = limits.maxConnectionsPerIP
        // Both series from the start, at 0: rates and alerts need them to exist.
        _ = (rejectedOverTotal, rejectedPerIP)
    }

    /// Takes a slot for a connection from `peer`, or says which limit refuses it.
    func admit(_ peer: PeerKey) -> Outcome {
        let n = total.add(1, ordering: .relaxed).newValue
        if maxTotal > 0 && n > maxTotal {
            total.subtract(1, ordering: .relaxed)
            return .overTotal
        }
        guard maxPerPeer > 0 else { return .admitted }
        let ok = perPeer.withLock { table -> Bool in
            let held = table[peer, default: 0]
            if held >= maxPerPeer { return false }
            table[peer] = held + 1
            return true
        }
        if !ok {
            total.subtract(1, ordering: .relaxed)
            return .overPerIP
        }
        return .admitted
    }

    /// Gives back the slot of a connection from `peer` that `admit` admitted.
    func release(_ peer: PeerKey) {
        total.subtract(1, ordering: .relaxed)
        guard maxPerPeer > 0 else { return }
        perPeer.withLock { table in
            guard let held = table[peer] else { return }
            // Forget peers with no connection left, so the table holds only current peers.
            if held <= 1 { table[peer] = nil } else { table[peer] = held - 1 }
        }
    }

    var openConnections: Int { total.load(ordering: .relaxed) }

    /// Peers holding at least one connection (0 when there is no per-IP limit: nothing is tracked).
    var trackedPeers: Int { perPeer.withLock { $0.count } }

    /// Connections `peer` holds (only tracked with a per-IP limit).
    func connections(of peer: PeerKey) -> Int { perPeer.withLock { $0[peer, default: 0] } }
}

let rejectedOverTotal = MetricsRegistry.shared.counter(
    "intake_connections_rejected_total", help: "Connections closed at accept because a connection limit was reached, by limit (max_connections, per_ip).",
    labels: ["reason": "max_connections"])
let rejectedPerIP = MetricsRegistry.shared.counter(
    "intake_connections_rejected_total", help: "Connections closed at accept because a connection limit was reached, by limit (max_connections, per_ip).",
    labels: ["reason": "per_ip"])
