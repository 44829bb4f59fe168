// IntakeCore: the injected clock. The domain never reads the time itself; the loops pass `now`
// in, and tests pass a fake one. Value types; any thread.

/// A point in time in milliseconds since the Unix epoch (wall clock, for records and envelopes).
public typealias EpochMillis = Int64

/// A monotonic instant in nanoseconds (for timeouts and durations; never goes backwards).
public typealias MonotonicNanos = UInt64
