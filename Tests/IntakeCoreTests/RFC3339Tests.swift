// RFC 3339 formatting and parsing against vectors computed with Python's datetime, leap years,
// epoch 0, the edges of the four-digit year range, offsets, and round trips.
import Testing
import IntakeCore

@Suite(.timeLimit(.minutes(5)))
struct RFC3339Tests {
    static let vectors: [(String, EpochMillis)] = [
        ("1970-01-01T00:00:00.000Z", 0),
        ("2026-11-22T02:44:45.123Z", 1_795_315_485_123),
        ("2000-02-29T12:00:00.000Z", 951_825_600_000),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
        ("1900-03-01T00:00:00.000Z", -2_203_891_200_000),
        ("2400-02-29T00:00:00.001Z", 13_574_563_200_001),
        ("1969-12-31T23:59:59.999Z", -1),
        ("0001-01-01T00:00:00.000Z", -62_135_596_800_000),
        ("1600-02-29T06:07:08.009Z", -11_670_976_371_991),
        ("2100-03-01T00:00:00.000Z", 4_107_542_400_000),
        ("2038-01-19T03:14:08.000Z", 2_147_483_648_000),
        ("0000-01-01T00:00:00.000Z", RFC3339.minMillis),
        ("9999-12-31T23:59:59.999Z", RFC3339.maxMillis),
    ]

    @Test func formatsAndParsesVectors() {
        for (text, ms) in Self.vectors {
            #expect(RFC3339.format(ms) == text)
            #expect(RFC3339.parse(text) == ms, "\(text)")
        }
    }

    @Test func epochZero() {
        #expect(RFC3339.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("1970-01-01T08:00:00+08:00") == 0)
    }

    @Test func leapYears() {
        #expect(RFC3339.isLeapYear(2000) && RFC3339.isLeapYear(2024) && RFC3339.isLeapYear(2400))
        #expect(!RFC3339.isLeapYear(1900) && !RFC3339.isLeapYear(2100) && !RFC3339.isLeapYear(2023))
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2023-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("1900-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2100-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") != nil)
        // The day after February 28 is March 1 in a common year and February 29 in a leap year.
        let day: EpochMillis = 86_400_000
        #expect(RFC3339.format(RFC3339.parse("2023-02-28T00:00:00Z")! + day) == "2023-03-01T00:00:00.000Z")
        #expect(RFC3339.format(RFC3339.parse("2024-02-28T00:00:00Z")! + day) == "2024-02-29T00:00:00.000Z")
        #expect(RFC3339.format(RFC3339.parse("2024-12-31T00:00:00Z")! + day) == "2025-01-01T00:00:00.000Z")
    }

    @Test func acceptedVariants() {
        let base = RFC3339.parse("2026-11-22T02:44:45.123Z")
        #expect(RFC3339.parse("2026-11-22t02:44:45.123z") == base)
        #expect(RFC3339.parse("2026-11-22T10:44:45.123+08:00") == base)
        #expect(RFC3339.parse("2026-11-21T21:14:45.123-05:30") == base)
        #expect(RFC3339.parse("2026-11-22T02:44:45.123999Z") == base)
        #expect(RFC3339.parse("2026-11-22T02:44:45.1Z") == RFC3339.parse("2026-11-22T02:44:45.100Z"))
        #expect(RFC3339.parse("2026-11-22T02:44:45.12Z") == RFC3339.parse("2026-11-22T02:44:45.120Z"))
        #expect(RFC3339.parse("2026-11-22T02:44:45Z") == RFC3339.parse("2026-11-22T02:44:45.000Z"))
        #expect(RFC3339.parse("2016-12-31T23:59:60Z") == RFC3339.parse("2017-01-01T00:00:00Z"))
    }

    @Test func refusedVariants() {
        for text in [
            "", "2026-11-22", "2026-11-22T02:44:45", "2026-11-22 02:44:45Z", "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+08",
            "2026-01-01T00:00:00+0800", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00Zjunk",
            "26-01-01T00:00:00Z", "2026-1-01T00:00:00Z", "+2026-01-01T00:00:00Z", "２０２６-01-01T00:00:00Z",
            "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
        ] {
            #expect(RFC3339.parse(text) == nil, "\(text)")
        }
    }

    @Test func clampsOutsideTheFourDigitYears() {
        #expect(RFC3339.format(RFC3339.minMillis - 1) == "0000-01-01T00:00:00.000Z")
        #expect(RFC3339.format(.max) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(.min) == "0000-01-01T00:00:00.000Z")
    }

    @Test func roundTripsEveryDayAndRandomInstants() {
        // Every day from 1600 to 2500 at a moment that exercises every field.
        let start = RFC3339.parse("1600-01-01T13:14:15.678Z")!
        let day: EpochMillis = 86_400_000
        var previous = ""
        for k in 0..<Int64(328_719) {
            let ms = start + k * day
            let text = RFC3339.format(ms)
            #expect(text > previous)
            previous = text
            if RFC3339.parse(text) != ms {
                Issue.record("\(ms) formats as \(text), which parses back differently")
                return
            }
        }
        #expect(previous == "2499-12-31T13:14:15.678Z")
        var rng = SeededGenerator(seed: 0x3339)
        for _ in 0..<20_000 {
            let ms = EpochMillis.random(in: RFC3339.minMillis...RFC3339.maxMillis, using: &rng)
            #expect(RFC3339.parse(RFC3339.format(ms)) == ms, "\(ms) (seed 0x3339)")
        }
    }
}

/// SplitMix64, so random cases replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
