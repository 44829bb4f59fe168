// IntakeServer: the one table of client-visible error codes, mapped to HTTP statuses,
// WebSocket close codes and protocol `error` frames in one place. Value types; any thread.
import IntakeWire
import IntakeJSON

/// An error a client sees: a stable code, a human message, and how it travels.
public struct ClientError: Error, Sendable, Equatable {
    public let code: String
    public let message: String
    public let status: HTTPStatus

    public init(_ code: String, _ message: String, status: HTTPStatus) {
        self.code = code
        self.message = message
        self.status = status
    }

    public static func badJSON(_ m: String) -> ClientError { .init("bad_json", m, status: .badRequest) }
    public static func invalidEnvelope(_ m: String) -> ClientError { .init("invalid_envelope", m, status: .badRequest) }
    public static func unauthorized(_ m: String) -> ClientError { .init("unauthorized", m, status: .unauthorized) }
    public static func forbidden(_ m: String) -> ClientError { .init("forbidden", m, status: .forbidden) }
    public static func unavailable(_ m: String) -> ClientError { .init("unavailable", m, status: .serviceUnavailable) }
    public static func rateLimited(_ m: String) -> ClientError { .init("rate_limited", m, status: .tooManyRequests) }
    public static func notFound(_ m: String) -> ClientError { .init("not_found", m, status: .notFound) }
    public static func unknownType(_ m: String) -> ClientError { .init("unknown_type", m, status: .badRequest) }

    /// `{"error": code, "message": message}` as JSON.
    public var json: JSON { .object([("error", .string(code)), ("message", .string(message))]) }

    /// The NDJSON / WebSocket error line or frame: `{"type":"error","code":…,"message":…}` for
    /// the agent and widget protocols, `{"error":…,"message":…}` for ingest lines.
    public var ingestLine: [UInt8] { json.serializedBytes }

    public var response: HTTPResponse { HTTPResponse.error(status: status, code: code, message: message) }
}
