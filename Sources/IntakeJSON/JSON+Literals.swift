// IntakeJSON: literal syntax for building JSON in code and tests
// (`let v: JSON = ["type": "ack", "id": 7]`). Value types; any thread.

extension JSON: ExpressibleByStringLiteral {
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSON: ExpressibleByIntegerLiteral {
    /// An `.int` value.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension JSON: ExpressibleByFloatLiteral {
    /// A `.double` value.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSON: ExpressibleByBooleanLiteral {
    /// A `.bool` value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSON: ExpressibleByArrayLiteral {
    /// An array value.
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

extension JSON: ExpressibleByDictionaryLiteral {
    /// An object whose members keep the literal's order. A repeated key is a programmer error
    /// and traps, as it does for a Swift Dictionary literal.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        for k in elements.indices {
            for j in elements.indices where j < k {
                precondition(elements[j].0 != elements[k].0, "BUG: duplicate key '\(elements[k].0)' in a JSON literal")
            }
        }
        self = .object(elements)
    }
}

extension JSON: ExpressibleByNilLiteral {
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
}
