// IntakeCore: RFC 3339 timestamps for envelopes and records, without Foundation: the civil
// calendar arithmetic of H. Hinnant's `days_from_civil` / `civil_from_days` (proleptic
// Gregorian, UTC). Pure functions; any thread.

/// Formats and parses RFC 3339 date-times with millisecond precision, e.g.
/// `2026-11-22T02:44:45.123Z`. Years 0000–9999 only, as RFC 3339 requires four digits.
public enum RFC3339 {
    /// 0000-01-01T00:00:00.000Z, the earliest instant that can be written.
    public static let minMillis: EpochMillis = -62_167_219_200_000
    /// 9999-12-31T23:59:59.999Z, the latest instant that can be written.
    public static let maxMillis: EpochMillis = 253_402_300_799_999

    private static let millisPerDay: Int64 = 86_400_000

    /// `ms` as `YYYY-MM-DDTHH:MM:SS.sssZ` (always UTC, always three fraction digits). Instants
    /// outside `minMillis...maxMillis` are clamped to that range; a broker clock never
    /// produces them.
    public static func format(_ ms: EpochMillis) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(ms, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `format(ms)` to `out` as UTF-8, for hand-built lines.
    public static func append(_ ms: EpochMillis, to out: inout [UInt8]) {
        let t = min(max(ms, minMillis), maxMillis)
        let days = floorDiv(t, millisPerDay)
        let inDay = t - days * millisPerDay
        let (y, m, d) = civil(fromDays: days)
        func put(_ v: Int64, _ width: Int) {
            var div: Int64 = 1
            for _ in 1..<width { div *= 10 }
            var v = v
            while div > 0 {
                out.append(0x30 + UInt8(v / div))
                v %= div
                div /= 10
            }
        }
        put(y, 4); out.append(0x2D); put(m, 2); out.append(0x2D); put(d, 2)
        out.append(0x54)
        put(inDay / 3_600_000, 2); out.append(0x3A)
        put(inDay / 60_000 % 60, 2); out.append(0x3A)
        put(inDay / 1000 % 60, 2); out.append(0x2E)
        put(inDay % 1000, 3)
        out.append(0x5A)
    }

    /// The instant written in `text`, or nil if it is not an RFC 3339 date-time
    /// (`YYYY-MM-DD` `T` `HH:MM:SS`, optional fraction, then `Z` or `±HH:MM`; `t` and `z` may
    /// be lower case). Fraction digits beyond milliseconds are truncated; a leap second (`:60`)
    /// reads as the first millisecond of the next minute, as POSIX time has no leap seconds.
    /// Instants outside `minMillis...maxMillis` (after applying the offset) are refused.
    public static func parse(_ text: String) -> EpochMillis? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes s: UnsafeBufferPointer<UInt8>) -> EpochMillis? {
        var k = 0
        func digits(_ n: Int) -> Int64? {
            guard k + n <= s.count else { return nil }
            var v: Int64 = 0
            for j in k..<(k + n) {
                let c = s[j]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            k += n
            return v
        }
        func expect(_ c: UInt8, or alt: UInt8? = nil) -> Bool {
            guard k < s.count, s[k] == c || s[k] == alt else { return false }
            k += 1
            return true
        }
        guard let y = digits(4), expect(0x2D), let mo = digits(2), expect(0x2D), let d = digits(2),
              expect(0x54, or: 0x74),
              let h = digits(2), expect(0x3A), let mi = digits(2), expect(0x3A), let sec = digits(2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y),
              h <= 23, mi <= 59, sec <= 60 else { return nil }
        var millis: Int64 = 0
        if k < s.count && s[k] == 0x2E {
            k += 1
            var n = 0
            while k < s.count, s[k] >= 0x30 && s[k] <= 0x39 {
                if n < 3 { millis = millis * 10 + Int64(s[k] - 0x30) }
                n += 1
                k += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 3) { millis *= 10 }
        }
        var offsetMinutes: Int64 = 0
        guard k < s.count else { return nil }
        switch s[k] {
        case 0x5A, 0x7A:
            k += 1
        case 0x2B, 0x2D:
            let sign: Int64 = s[k] == 0x2D ? -1 : 1
            k += 1
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        default:
            return nil
        }
        guard k == s.count else { return nil }
        let days = daysFromCivil(year: y, month: mo, day: d)
        let t = days * millisPerDay + h * 3_600_000 + mi * 60_000 + sec * 1000 + millis - offsetMinutes * 60_000
        guard t >= minMillis && t <= maxMillis else { return nil }
        return t
    }

    /// True for Gregorian leap years (every fourth, except centuries not divisible by 400).
    public static func isLeapYear(_ y: Int64) -> Bool {
        y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    }

    private static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return isLeapYear(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
