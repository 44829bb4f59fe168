// IntakeServer: the ingest interface shared by HTTP and TCP: an authenticated producer hands in
// a decoded envelope and is told, once the message is durable, its id and session.
import IntakeCore
import IntakeJSON
import IntakeCrypto

/// The answer to one ingested message.
public enum IngestOutcome: Sendable, Equatable {
    case accepted(id: String, session: String, duplicate: Bool)
    case failed(ClientError)

    /// The compact bytes of `json(idKey:)`, built directly: this runs once per acknowledgement.
    func line(idKey: StaticString) -> [UInt8] {
        guard case let .accepted(id, session, duplicate) = self else { return json(idKey: idKey.description).serializedBytes }
        var out: [UInt8] = []
        out.reserveCapacity(72)
        out.append(contentsOf: "{\"".utf8)
        idKey.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: "\":".utf8)
        JSON.appendQuoted(id, to: &out)
        out.append(contentsOf: ",\"session\":".utf8)
        JSON.appendQuoted(session, to: &out)
        out.append(contentsOf: (duplicate ? ",\"duplicate\":true}" : ",\"duplicate\":false}").utf8)
        return out
    }

    /// `{"ack","session","duplicate"}` for TCP, `{"id","session","duplicate"}` for HTTP.
    func json(idKey: String) -> JSON {
        switch self {
        case let .accepted(id, session, duplicate):
            return .object([(idKey, .string(id)), ("session", .string(session)), ("duplicate", .bool(duplicate))])
        case let .failed(e): return e.json
        }
    }
}

/// Where ingested messages go. `ingest` is called on a loop thread; `completion` runs on any
/// thread, only after the message is durable (or refused).
public protocol Ingestor: AnyObject, Sendable {
    func ingest(_ envelope: Envelope, completion: @escaping @Sendable (IngestOutcome) -> Void)
}

/// App accounts and their keys, checked in constant time.
struct AppAuthenticator: Sendable {
    let apps: [AppAccount]

    func authenticate(account: String, key: String) -> AppAccount? {
        guard let app = apps.first(where: { $0.account == account }) else {
            _ = constantTimeEqualsString(key, "x")  // same work whether or not the account exists
            return nil
        }
        return constantTimeEqualsString(key, app.key) ? app : nil
    }

    /// The account whose key is `key` (for `Authorization: Bearer <key>`).
    func authenticate(bearer key: String) -> AppAccount? {
        var found: AppAccount?
        for app in apps where constantTimeEqualsString(key, app.key) { found = app }
        return found
    }
}

func constantTimeEqualsString(_ a: String, _ b: String) -> Bool { constantTimeEquals(Array(a.utf8), Array(b.utf8)) }
