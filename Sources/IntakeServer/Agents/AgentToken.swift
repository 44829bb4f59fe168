// IntakeServer/Agents: signed, expiring agent tokens for directory entries with a `secret`
// (docs/PROTOCOL.md, "Signed tokens"): `v1.<agentId>.<expiryUnix>.<hex HMAC-SHA256>`, where the
// HMAC is over `v1.<agentId>.<expiryUnix>` with the agent's secret. Pure functions; any thread.
import IntakeCore
import IntakeCrypto

/// The signed-token format.
enum AgentToken {
    static let prefix = "v1."

    /// Why a token was refused.
    enum Refusal: Error, Equatable {
        /// Malformed, unknown agent, an agent without a secret, or a wrong signature.
        case invalid
        /// Well signed but past its expiry.
        case expired
    }

    /// `v1.<agent>.<expiry>.<hex hmac>` signed with `secret`.
    static func sign(agent: String, expiryUnix: Int64, secret: String) -> String {
        let signed = prefix + agent + "." + String(expiryUnix)
        return signed + "." + Digest.hex(Digest.hmacSHA256(key: Array(secret.utf8), message: Array(signed.utf8)))
    }

    /// Whether `token` looks like a signed token (else it is compared as a static token).
    static func isSigned(_ token: String) -> Bool { token.hasPrefix(prefix) }

    /// The agent a signed token names, if the signature checks (compared in constant time) and
    /// it has not expired at `nowUnix`.
    static func verify(_ token: String, directory: AgentDirectory, nowUnix: Int64) -> Result<AgentProfile, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expiry = Int64(parts[2]), parts[3].utf8.count == 64 else {
            return .failure(.invalid)
        }
        let agentID = String(parts[1])
        guard let profile = directory.agents.first(where: { $0.id == agentID }), case .secret(let secret) = profile.credential else {
            // The same work as a real check, so unknown ids take as long as wrong signatures.
            _ = constantTimeEquals(Array(sign(agent: agentID, expiryUnix: expiry, secret: "-").utf8), Array(token.utf8))
            return .failure(.invalid)
        }
        let expected = sign(agent: agentID, expiryUnix: expiry, secret: secret)
        guard constantTimeEquals(Array(expected.utf8), Array(token.utf8)) else { return .failure(.invalid) }
        guard expiry > nowUnix else { return .failure(.expired) }
        return .success(profile)
    }
}
