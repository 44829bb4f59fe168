// HTTPDate: the `Date` response header (RFC 9110 §6.6.1, IMF-fixdate), formatted at most once
// a second per thread. Each loop thread gets its own cache through a pthread key, so encoding
// a response takes no lock; the cache is freed when its thread exits.
#if canImport(Glibc)
import Glibc
#endif

/// One thread's formatted `Date: ...\r\n` line and the second it was made for.
private final class DateLineCache {
    var second = -1
    var line: [UInt8] = []
}

private let dateCacheKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key) { raw in
        guard let raw else { return }
        Unmanaged<DateLineCache>.fromOpaque(raw).release()
    }
    precondition(rc == 0, "BUG: pthread_key_create failed: \(rc)")
    return key
}()

private let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
private let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

enum HTTPDate {
    /// Appends `Date: <IMF-fixdate>\r\n` for the current second.
    static func appendHeader(into out: inout [UInt8]) {
        let cache: DateLineCache
        if let raw = pthread_getspecific(dateCacheKey) {
            cache = Unmanaged<DateLineCache>.fromOpaque(raw).takeUnretainedValue()
        } else {
            cache = DateLineCache()
            pthread_setspecific(dateCacheKey, Unmanaged.passRetained(cache).toOpaque())
        }
        let now = time(nil)
        if now != cache.second {
            cache.second = now
            cache.line = Array("Date: \(imfFixdate(now))\r\n".utf8)
        }
        out.append(contentsOf: cache.line)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for `seconds` since the epoch.
    static func imfFixdate(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = dayNames[Int(tm.tm_wday) % 7]
        let month = monthNames[Int(tm.tm_mon) % 12]
        return "\(day), \(two(tm.tm_mday)) \(month) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
