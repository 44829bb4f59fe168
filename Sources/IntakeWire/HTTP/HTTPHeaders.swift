// HTTPHeaders: an ordered list of header fields kept as one byte array plus ranges into it, so
// a parsed head costs two allocations however many fields it has, and lookups compare bytes
// without building Strings (the shape of NIOHTTP1's HTTPHeaders). A value type owned by
// whoever holds it; a parsed request's headers are created on the connection's loop thread.

/// Ordered header fields with case-insensitive name lookup. Names and values are Strings at the
/// API, bytes inside.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    struct Field: Sendable {
        var nameStart: UInt32
        var nameEnd: UInt32
        var valueStart: UInt32
        var valueEnd: UInt32
    }

    private(set) var storage: [UInt8]
    private(set) var fields: [Field]

    /// No fields.
    public init() {
        storage = []
        fields = []
    }

    /// The fields in the given order (see `add(name:value:)` for what is accepted).
    public init(_ pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs { add(name: name, value: value) }
    }

    /// The fields of a dictionary literal, in the order written.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Adopts bytes and ranges produced by the parser (already validated).
    init(storage: [UInt8], fields: [Field]) {
        self.storage = storage
        self.fields = fields
    }

    /// The number of fields (a repeated name counts once per line).
    public var count: Int { fields.count }

    /// True when there are no fields.
    public var isEmpty: Bool { fields.isEmpty }

    /// The value of the first field named `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        guard let i = firstIndex(of: name) else { return nil }
        return value(at: i)
    }

    /// All values of the fields named `name` (case-insensitive), in order.
    public func values(for name: String) -> [String] {
        indices(of: name).map { value(at: $0) }
    }

    /// True when a field named `name` exists.
    public func contains(_ name: String) -> Bool { firstIndex(of: name) != nil }

    /// True when a field named `name` holds `token` (case-insensitive) as one element of its
    /// comma-separated list, as in `Connection: keep-alive, Upgrade`.
    public func contains(_ name: String, token: String) -> Bool {
        var token = token
        return token.withUTF8 { t in
            indices(of: name).contains { i in
                withValueBytes(at: i) { v in
                    var found = false
                    forEachListElement(v) { e in if equalsIgnoringCase(e, UnsafeRawBufferPointer(t)) { found = true } }
                    return found
                }
            }
        }
    }

    /// Appends a field. The name must be a token (a programmer error otherwise); CR, LF, NUL and
    /// other control characters in the value are replaced by spaces, so that no value taken
    /// from input can inject a header line.
    public mutating func add(name: String, value: String) {
        precondition(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "BUG: invalid header name \(name)")
        let nameStart = UInt32(storage.count)
        storage.append(contentsOf: name.utf8)
        let nameEnd = UInt32(storage.count)
        storage.append(contentsOf: value.utf8.lazy.map { isFieldValueByte($0) ? $0 : ASCII.space })
        fields.append(Field(nameStart: nameStart, nameEnd: nameEnd, valueStart: nameEnd,
                            valueEnd: UInt32(storage.count)))
    }

    /// Removes every field named `name`, then appends one with `value`.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Removes every field named `name` (case-insensitive).
    public mutating func remove(name: String) {
        let drop = Set(indices(of: name))
        guard !drop.isEmpty else { return }
        let kept = enumerated().filter { !drop.contains($0.offset) }.map { ($0.element.name, $0.element.value) }
        self = HTTPHeaders(kept)
    }

    /// The name of field `i` as sent (case preserved).
    public func name(at i: Int) -> String {
        let f = fields[i]
        return String(decoding: storage[Int(f.nameStart)..<Int(f.nameEnd)], as: UTF8.self)
    }

    /// The value of field `i`, without surrounding whitespace. obs-text bytes that are not
    /// valid UTF-8 become U+FFFD.
    public func value(at i: Int) -> String {
        let f = fields[i]
        return String(decoding: storage[Int(f.valueStart)..<Int(f.valueEnd)], as: UTF8.self)
    }

    /// Iterates `(name, value)` pairs in order.
    public struct Iterator: IteratorProtocol {
        let headers: HTTPHeaders
        var index = 0
        /// The next pair, or nil after the last.
        public mutating func next() -> (name: String, value: String)? {
            guard index < headers.count else { return nil }
            defer { index += 1 }
            return (headers.name(at: index), headers.value(at: index))
        }
    }

    /// An iterator over the `(name, value)` pairs in order.
    public func makeIterator() -> Iterator { Iterator(headers: self) }

    /// `name: value` lines, for logs and test failures.
    public var description: String {
        map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    // MARK: byte-level access for the parser and the encoder

    func withNameBytes<R>(at i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let f = fields[i]
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(f.nameStart)..<Int(f.nameEnd)])) }
    }

    func withValueBytes<R>(at i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let f = fields[i]
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(f.valueStart)..<Int(f.valueEnd)])) }
    }

    func nameEquals(at i: Int, _ lowercased: StaticString) -> Bool {
        withNameBytes(at: i) { equalsLowercased($0, lowercased) }
    }

    func firstIndex(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { n in
            fields.indices.first { i in withNameBytes(at: i) { equalsIgnoringCase($0, UnsafeRawBufferPointer(n)) } }
        }
    }

    func indices(of name: String) -> [Int] {
        var name = name
        return name.withUTF8 { n in
            fields.indices.filter { i in withNameBytes(at: i) { equalsIgnoringCase($0, UnsafeRawBufferPointer(n)) } }
        }
    }

    /// Appends `name: value\r\n` for every field for which `include` holds.
    func write(into out: inout [UInt8], where include: (Int) -> Bool) {
        for i in fields.indices where include(i) {
            let f = fields[i]
            out.append(contentsOf: storage[Int(f.nameStart)..<Int(f.nameEnd)])
            out.append(ASCII.colon)
            out.append(ASCII.space)
            out.append(contentsOf: storage[Int(f.valueStart)..<Int(f.valueEnd)])
            out.append(ASCII.cr)
            out.append(ASCII.lf)
        }
    }
}

extension HTTPHeaders: Equatable {
    /// Equal when both hold the same fields in the same order; names compare case-insensitively.
    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count {
            let sameName = a.withNameBytes(at: i) { x in b.withNameBytes(at: i) { y in equalsIgnoringCase(x, y) } }
            let sameValue = a.withValueBytes(at: i) { x in b.withValueBytes(at: i) { y in x.elementsEqual(y) } }
            if !sameName || !sameValue { return false }
        }
        return true
    }
}

/// Calls `body` with each element of a comma-separated list, trimmed of OWS; empty elements
/// (as in `a,,b`) are passed as empty buffers.
func forEachListElement(_ v: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
    var start = 0
    var i = 0
    while i <= v.count {
        if i == v.count || v[i] == ASCII.comma {
            var s = start
            var e = i
            while s < e && isOWS(v[s]) { s += 1 }
            while e > s && isOWS(v[e - 1]) { e -= 1 }
            body(UnsafeRawBufferPointer(rebasing: v[s..<e]))
            start = i + 1
        }
        i += 1
    }
}
