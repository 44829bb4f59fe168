// IntakeJSON: a JSON value, a strict parser with limits and a compact serializer (RFC 8259).
// Value types only; safe from any thread. No Foundation on the hot path.

/// A JSON value. Objects keep their members in the order they were written (an envelope's
/// `meta` is "kept as given"); lookups are linear, which is fastest for the small objects of
/// our protocols.
public enum JSON: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in Int64.
    case int(Int64)
    /// Any other number.
    case double(Double)
    /// A string (always valid Unicode).
    case string(String)
    /// An array, in document order.
    case array([JSON])
    /// An object's members in document order (names unique when parsed).
    case object([(String, JSON)])

    /// Structural equality; an `.int` equals a `.double` of the same value, and members must
    /// match in order.
    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}
