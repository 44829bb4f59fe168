// IntakeTelemetry: masking of personal data in what leaves the broker for people other than
// the citizen's agent: log lines and exports (docs/SECURITY.md, "Logging and masking").
//
// What is masked, in UTF-8 text, on runs of ASCII digits bounded by non-digits (so longer
// numbers such as timestamps and ids are left alone):
// - mainland mobile numbers: 11 digits 1[3-9]xxxxxxxxx, also after +86 / 86, also written
//   3-4-4 with single spaces or hyphens: 138****1234 (the middle four);
// - landlines with an area code: 0 + 2–3 digits, optional hyphen, 7–8 digits: 021-****6666
//   (all but the last four of the local number);
// - resident ID card numbers: 18 characters (17 digits + digit or X) or the old 15 digits:
//   110101********123X (the birth date and sequence digits).
// Pure; any thread. Fast path: text with fewer than 7 digits is returned unchanged.
public enum PersonalData {
    /// `text` with phone and ID-card numbers masked.
    public static func mask(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        guard mask(&utf8) else { return text }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Masks in place; returns true if anything changed.
    @discardableResult
    public static func mask(_ b: inout [UInt8]) -> Bool {
        var digits = 0
        for c in b where isDigit(c) { digits += 1; if digits >= 7 { break } }
        guard digits >= 7 else { return false }
        // Maximal runs of digits.
        var runs: [Range<Int>] = []
        var i = 0
        while i < b.count {
            if isDigit(b[i]) {
                var j = i + 1
                while j < b.count && isDigit(b[j]) { j += 1 }
                runs.append(i..<j)
                i = j
            } else {
                i += 1
            }
        }
        var changed = false
        var r = 0
        while r < runs.count {
            let run = runs[r]
            if maskRun(&b, run) { changed = true; r += 1; continue }
            // Split forms: 138 1234 5678 / 138-1234-5678, and 021-8888 6666 style landlines.
            func joined(_ k: Int) -> Bool {
                r + k < runs.count && runs[r + k].lowerBound == runs[r + k - 1].upperBound + 1
                    && (b[runs[r + k - 1].upperBound] == 0x20 || b[runs[r + k - 1].upperBound] == 0x2D)
            }
            if run.count == 3, joined(1), joined(2), runs[r + 1].count == 4, runs[r + 2].count == 4,
               b[run.lowerBound] == 0x31, (0x33...0x39).contains(b[run.lowerBound + 1]) {
                star(&b, runs[r + 1])
                changed = true
                r += 3
                continue
            }
            if (run.count == 3 || run.count == 4), b[run.lowerBound] == 0x30, b[run.lowerBound + 1] != 0x30, joined(1),
               (7...8).contains(runs[r + 1].count) {
                star(&b, runs[r + 1].lowerBound..<(runs[r + 1].upperBound - 4))
                changed = true
                r += 2
                continue
            }
            r += 1
        }
        return changed
    }

    /// One contiguous run of digits: a mobile (optionally after 86), an ID card, a landline
    /// written without a separator.
    private static func maskRun(_ b: inout [UInt8], _ run: Range<Int>) -> Bool {
        var start = run.lowerBound
        if run.count == 13, b[start] == 0x38, b[start + 1] == 0x36 { start += 2 }  // 86 + mobile
        let count = run.upperBound - start
        if count == 11, b[start] == 0x31, (0x33...0x39).contains(b[start + 1]) {
            star(&b, (start + 3)..<(start + 7))
            return true
        }
        let x = run.upperBound < b.count && (b[run.upperBound] == 0x58 || b[run.upperBound] == 0x78)
        if run.count == 18 || (run.count == 17 && x) {
            star(&b, (run.lowerBound + 6)..<(run.lowerBound + 14))
            return true
        }
        if run.count == 15 {
            star(&b, (run.lowerBound + 6)..<(run.lowerBound + 12))
            return true
        }
        if (10...12).contains(run.count), b[run.lowerBound] == 0x30, b[run.lowerBound + 1] != 0x30 {
            star(&b, (run.lowerBound + 3)..<(run.upperBound - 4))
            return true
        }
        return false
    }

    private static func star(_ b: inout [UInt8], _ range: Range<Int>) {
        for k in range { b[k] = 0x2A }
    }

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}
