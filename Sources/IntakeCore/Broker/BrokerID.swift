// IntakeCore/Broker: broker-assigned ids for messages ("m…") and sessions ("s…"), unique and
// sortable by arrival. A value type owned by whoever owns the BrokerState (the core thread).
//
// An id is a prefix letter, 10 base-32 digits of a Unix millisecond time and 4 base-32 digits
// of a counter: 15 ASCII bytes, which Swift stores inline (no allocation). The digits are
// Crockford's lower-case alphabet, whose ASCII order is its numeric order, so ids compare as
// strings in the order they were made. The generator never goes backwards: when the clock
// stands still or steps back it keeps the last time and counts up; every id applied from the
// log is `observe`d, so after a restart new ids are greater than every id ever stored.

/// Makes ids of one kind, strictly increasing.
public struct IDGenerator: Sendable, Equatable {
    /// The prefix letter ("m" or "s").
    public let prefix: Character
    /// The time part of the last id made or observed.
    public private(set) var lastMillis: Int64 = 0
    /// The counter part of the last id made or observed.
    public private(set) var counter: UInt32 = 0

    static let alphabet: [UInt8] = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    static let timeDigits = 10
    static let counterDigits = 4
    static let counterLimit: UInt32 = 1 << 20
    /// Length of every id, prefix included.
    public static let idLength = 1 + timeDigits + counterDigits

    /// A generator that has made nothing yet.
    public init(prefix: Character) {
        precondition(prefix.isASCII && prefix.isLetter, "BUG: an id prefix must be an ASCII letter")
        self.prefix = prefix
    }

    /// Restores a generator from its two parts (snapshots).
    public init(prefix: Character, lastMillis: Int64, counter: UInt32) {
        self.init(prefix: prefix)
        self.lastMillis = lastMillis
        self.counter = counter
    }

    /// The next id at wall time `now`: greater than every id made or observed before.
    public mutating func next(now: EpochMillis) -> String {
        if now > lastMillis {
            lastMillis = now
            counter = 0
        } else {
            counter += 1
            if counter == Self.counterLimit {
                lastMillis += 1
                counter = 0
            }
        }
        return Self.format(prefix: prefix, millis: lastMillis, counter: counter)
    }

    /// Moves the generator past `id` if `id` is one of its kind and newer than its state.
    public mutating func observe(_ id: String) {
        guard let (ms, c) = Self.parse(id, prefix: prefix) else { return }
        if ms > lastMillis || (ms == lastMillis && c > counter) {
            lastMillis = ms
            counter = c
        }
    }

    /// The id for `(millis, counter)`. Written straight into the string's inline storage
    /// (15 ASCII bytes: no heap allocation).
    public static func format(prefix: Character, millis: Int64, counter: UInt32) -> String {
        precondition(millis >= 0 && millis < 1 << 50 && counter < counterLimit, "BUG: id parts out of range")
        let first = prefix.asciiValue ?? 0x3F  // ASCII by the init's precondition
        return String(unsafeUninitializedCapacity: idLength) { out in
            out[0] = first
            var t = UInt64(millis)
            for i in stride(from: timeDigits, through: 1, by: -1) {
                out[i] = alphabet[Int(t & 31)]
                t >>= 5
            }
            var c = counter
            for i in stride(from: idLength - 1, through: timeDigits + 1, by: -1) {
                out[i] = alphabet[Int(c & 31)]
                c >>= 5
            }
            return idLength
        }
    }

    /// The `(millis, counter)` of an id with `prefix`, or nil if it is not one.
    public static func parse(_ id: String, prefix: Character) -> (Int64, UInt32)? {
        var id = id
        return id.withUTF8 { u -> (Int64, UInt32)? in
            guard u.count == idLength, u[0] == prefix.asciiValue else { return nil }
            var t: UInt64 = 0
            for i in 1...timeDigits {
                let d = digitValue[Int(u[i])]
                guard d != 0xFF else { return nil }
                t = t << 5 | UInt64(d)
            }
            var c: UInt32 = 0
            for i in (timeDigits + 1)..<idLength {
                let d = digitValue[Int(u[i])]
                guard d != 0xFF else { return nil }
                c = c << 5 | UInt32(d)
            }
            return (Int64(t), c)
        }
    }

    /// Byte → digit value, 0xFF for bytes outside the alphabet.
    private static let digitValue: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (v, b) in alphabet.enumerated() { table[Int(b)] = UInt8(v) }
        return table
    }()
}
