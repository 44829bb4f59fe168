// IntakeJSON: typed reads of a JSON value (member, element, string, number …), each nil when
// the value is of another type. Value types; any thread.

extension JSON {
    /// The value of the first member named `key` if this is an object, else nil.
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        for (name, value) in members where name == key { return value }
        return nil
    }

    /// The element at `index` if this is an array and `index` is in range, else nil.
    public subscript(index: Int) -> JSON? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The string if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer if this is an `.int`, or a `.double` with an integral value in Int64's range.
    public var intValue: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d): return Int64(exactly: d)
        default: return nil
        }
    }

    /// The number as a Double if this is an `.int` or a `.double`.
    public var doubleValue: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The Boolean if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements if this is an array.
    public var arrayValue: [JSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members, in document order, if this is an object.
    public var objectValue: [(String, JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// True if this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
