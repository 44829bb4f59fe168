// Fuzz target `json`: IntakeJSON's parser and serializer on arbitrary bytes.
// Invariants beyond "never crashes":
// - a document that parses serializes to JSON that parses back to an equal value, and that
//   serialization is a fixed point (serialize ∘ parse ∘ serialize = serialize);
// - the limits are exact: a document of depth d parses with maxDepth d and fails `tooDeep` with
//   d - 1; one byte under its size fails `tooLarge`;
// - an error's offset lies within the input;
// - a document that is one number agrees with the standard library's conversion (Int64 for
//   integers that fit, the correctly rounded Double otherwise), which checks the parser's
//   Clinger fast path.
import IntakeJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let value: JSON
    do {
        value = try JSON.parse(bytes)
    } catch {
        check(error.offset >= 0 && error.offset <= max(bytes.count, JSONLimits().maxBytes),
              "error offset \(error.offset) outside the input of \(bytes.count) bytes")
        return 0
    }

    // Round trip and fixed point.
    let once = value.serializedBytes
    let reparsed: JSON
    do {
        reparsed = try JSON.parse(once)
    } catch {
        fatalError("FUZZ INVARIANT: serialized output does not parse (\(error)): \(show(once))")
    }
    check(reparsed == value, "round trip changed the value: \(show(once))")
    check(reparsed.serializedBytes == once, "serialization is not a fixed point: \(show(once))")

    // Exact depth limit.
    let d = depth(value)
    if d >= 1 {
        check((try? JSON.parse(bytes, limits: JSONLimits(maxDepth: d))) != nil, "depth \(d) refused with maxDepth \(d)")
        do {
            _ = try JSON.parse(bytes, limits: JSONLimits(maxDepth: d - 1))
            fatalError("FUZZ INVARIANT: depth \(d) accepted with maxDepth \(d - 1)")
        } catch {
            check(error.kind == .tooDeep, "depth \(d) with maxDepth \(d - 1) gave \(error), not tooDeep")
        }
    }
    // Exact size limit.
    do {
        _ = try JSON.parse(bytes, limits: JSONLimits(maxBytes: bytes.count - 1))
        fatalError("FUZZ INVARIANT: \(bytes.count) bytes accepted with maxBytes \(bytes.count - 1)")
    } catch {
        check(error.kind == .tooLarge, "one byte over maxBytes gave \(error), not tooLarge")
    }

    // A lone number against the standard library.
    if String(validating: bytes, as: UTF8.self) != nil {
        let trimmed = String(decoding: bytes.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }, as: UTF8.self)
        switch value {
        case .int(let v):
            check(Int64(trimmed) == v, "integer \(trimmed) parsed as \(v)")
        case .double(let v) where !trimmed.isEmpty && trimmed.utf8.allSatisfy({ !($0 == 0x5B || $0 == 0x7B || $0 == 0x22) }):
            // Int64 overflow falls back to a Double, as the standard library's Double(String) does.
            guard let expected = Double(trimmed) else { fatalError("FUZZ INVARIANT: \(trimmed) parsed but Double() refuses it") }
            check(expected.bitPattern == v.bitPattern, "number \(trimmed) parsed as \(v), standard library says \(expected)")
        default:
            break
        }
    }
    return 0
}

/// Nesting depth as JSONLimits counts it: a scalar is 0, `[]` is 1.
private func depth(_ v: JSON) -> Int {
    switch v {
    case .array(let items): return 1 + (items.map(depth).max() ?? 0)
    case .object(let members): return 1 + (members.map { depth($0.1) }.max() ?? 0)
    default: return 0
    }
}
