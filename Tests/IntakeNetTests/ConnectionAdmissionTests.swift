// What the per-IP limit counts by (PeerKey: IPv4 addresses, IPv4-mapped IPv6 as IPv4, IPv6 by
// /64) and the admission table: total first, then per peer, slots given back, empty peers
// forgotten. No sockets.
import Testing
@testable import IntakeNet

@Suite(.timeLimit(.minutes(5)))
struct ConnectionAdmissionTests {
    func key(_ bytes: [UInt8]) -> PeerKey { bytes.withUnsafeBytes { PeerKey(ipv6: $0) } }
    func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> PeerKey { key([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, a, b, c, d]) }
    func v6(_ prefix: [UInt8], host: [UInt8]) -> PeerKey { key(prefix + host) }

    @Test func ipv4ByAddressIPv6ByPrefix() {
        #expect(v4(127, 0, 0, 1) == v4(127, 0, 0, 1))
        #expect(v4(127, 0, 0, 1) != v4(127, 0, 0, 2))
        #expect(v4(10, 1, 2, 3).description == "10.1.2.3")
        let net: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]
        let a = v6(net, host: [0, 0, 0, 0, 0, 0, 0, 1]), b = v6(net, host: [0xde, 0xad, 0, 0, 0, 0, 0xbe, 0xef])
        #expect(a == b, "one /64 is one peer")
        #expect(a != v6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2], host: [0, 0, 0, 0, 0, 0, 0, 1]))
        #expect(a.description == "2001:db8:0:1::/64")
        // ::1 (IPv6 loopback) is in the all-zero /64, distinct from every IPv4 peer.
        let loop6 = v6([0, 0, 0, 0, 0, 0, 0, 0], host: [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(loop6 != v4(0, 0, 0, 1))
    }

    @Test func totalThenPerPeerAndSlotsComeBack() {
        var limits = ConnectionLimits()
        limits.maxConnections = 3
        limits.maxConnectionsPerIP = 2
        let admission = ConnectionAdmission(limits: limits)
        let a = v4(192, 0, 2, 1), b = v4(192, 0, 2, 2)
        #expect(admission.admit(a) == .admitted)
        #expect(admission.admit(a) == .admitted)
        #expect(admission.admit(a) == .overPerIP)
        #expect(admission.admit(b) == .admitted)
        #expect(admission.admit(b) == .overTotal)
        #expect(admission.openConnections == 3 && admission.connections(of: a) == 2 && admission.trackedPeers == 2)
        admission.release(a)
        #expect(admission.admit(b) == .admitted)
        for p in [a, b, b] { admission.release(p) }
        #expect(admission.openConnections == 0 && admission.trackedPeers == 0)
    }

    @Test func withoutAPerIPLimitNothingIsTracked() {
        var limits = ConnectionLimits()
        limits.maxConnections = 0
        let admission = ConnectionAdmission(limits: limits)
        let a = v4(192, 0, 2, 1)
        for _ in 0..<1000 { #expect(admission.admit(a) == .admitted) }
        #expect(admission.trackedPeers == 0 && admission.openConnections == 1000)
    }
}
