// Log-linear latency histogram: exact below 128 ns, then 64 sub-buckets per power of two, so a
// bucket is at most 1/64 (~1.6%) wide and its midpoint is within ~0.8% of any value in it.
// A value type: each client-loop thread records into its own and the driver merges them.

/// Latency histogram of nanosecond values; fixed 3,840 buckets (30 KiB), no allocation when recording.
struct Histogram {
    static let subBucketBits = 6
    static let bucketCount = 64 * 60

    private(set) var counts: [UInt64]
    private(set) var total: UInt64 = 0
    private(set) var maxValue: UInt64 = 0

    init() { counts = [UInt64](repeating: 0, count: Self.bucketCount) }

    @inline(__always) static func index(_ value: UInt64) -> Int {
        if value < 128 { return Int(value) }
        let shift = (63 - value.leadingZeroBitCount) - subBucketBits
        // value >> shift lies in [64, 128): buckets of width 2^shift, contiguous with the exact range.
        return shift * 64 + Int(value >> UInt64(shift))
    }

    /// Midpoint of bucket `index` in nanoseconds.
    static func midpoint(_ index: Int) -> Double {
        if index < 128 { return Double(index) }
        let shift = index / 64 - 1
        let mantissa = index - shift * 64
        let low = Double(UInt64(mantissa) << UInt64(shift))
        let high = Double(UInt64(mantissa + 1) << UInt64(shift))
        return (low + high) / 2
    }

    @inline(__always) mutating func record(_ nanos: UInt64) {
        counts.withUnsafeMutableBufferPointer { $0[min(Self.index(nanos), Self.bucketCount - 1)] &+= 1 }
        total &+= 1
        if nanos > maxValue { maxValue = nanos }
    }

    mutating func merge(_ other: Histogram) {
        for i in 0..<Self.bucketCount { counts[i] &+= other.counts[i] }
        total &+= other.total
        maxValue = max(maxValue, other.maxValue)
    }

    /// The value at percentile `p` (0–100) in nanoseconds, as a bucket midpoint capped at the maximum;
    /// NaN when empty.
    func percentile(_ p: Double) -> Double {
        guard total > 0 else { return .nan }
        let target = max(1, UInt64((Double(total) * p / 100.0).rounded(.up)))
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen &+= counts[i]
            if seen >= target { return min(Self.midpoint(i), Double(maxValue)) }
        }
        return Double(maxValue)
    }
}
