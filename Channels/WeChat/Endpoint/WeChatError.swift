// WeChatChannel: the client-visible errors of the WeChat callback, each a stable code with its
// HTTP status, in one table. Value type; any thread.
import IntakeJSON

/// Why a callback request was refused. Nothing of a refused request is stored.
public struct WeChatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable codes; the HTTP status of each is `status`.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// A required query parameter is missing or malformed (400).
        case badRequest = "bad_request"
        /// `signature` or `msg_signature` is missing or does not match (403).
        case badSignature = "bad_signature"
        /// `timestamp` is further from the broker's clock than the account allows (403).
        case staleTimestamp = "stale_timestamp"
        /// The body is not acceptable XML (400).
        case badXML = "bad_xml"
        /// The XML is not a WeChat message: root, required fields, ids (400).
        case badMessage = "bad_message"
        /// `Encrypt` does not decrypt: base64, length, padding, length field (400).
        case badCiphertext = "bad_ciphertext"
        /// The decrypted frame ends with another AppID (403).
        case wrongAppId = "wrong_appid"
        /// The request's encryption does not fit the account's mode (400).
        case modeMismatch = "mode_mismatch"
        /// The body is over the endpoint's limit (413).
        case bodyTooLarge = "body_too_large"
        /// A method other than GET and POST (405).
        case methodNotAllowed = "method_not_allowed"

        /// The HTTP status for this code.
        public var status: Int {
            switch self {
            case .badRequest, .badXML, .badMessage, .badCiphertext, .modeMismatch: return 400
            case .badSignature, .staleTimestamp, .wrongAppId: return 403
            case .bodyTooLarge: return 413
            case .methodNotAllowed: return 405
            }
        }
    }

    /// The stable code.
    public let code: Code
    /// Human text for the reply and the log. Never contains a secret or an expected signature.
    public let message: String

    /// An error with `code` and `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status.
    public var status: Int { code.status }

    /// The response: the status with `{"error": code, "message": message}`, like every other
    /// error of the broker. WeChat only looks at the status; the body is for operators.
    public var response: WeChatResponse {
        let body = JSON.object([("error", .string(code.rawValue)), ("message", .string(message))]).serializedBytes
        return WeChatResponse(status: status, contentType: "application/json", body: body)
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// An HTTP answer for the HTTP layer to send as it is.
public struct WeChatResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// The Content-Type header.
    public var contentType: String
    /// The body.
    public var body: [UInt8]

    /// A response with `status`, `contentType` and `body`.
    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// The body as text (for tests and logs).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
