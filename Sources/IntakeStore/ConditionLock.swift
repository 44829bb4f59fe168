// IntakeStore: a pthread mutex with one condition variable on CLOCK_MONOTONIC, for the
// writer's inbox (Synchronization's Mutex has no condition variable). Any thread; the memory
// is allocated once and never moves.
#if canImport(Glibc)
import Glibc
#endif
import CIntakeLinux

/// A mutex plus a condition, used as `lock(); while !ready { wait() }; …; unlock()`.
package final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Wakes the waiter; call with the lock held.
    package func signal() { pthread_cond_signal(cond) }
    /// Waits for a signal (or a spurious wake-up); call with the lock held.
    package func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits for a signal or until the monotonic clock reaches `deadline` (nanoseconds).
    package func wait(untilMonotonicNanos deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(cond, mutex, &ts)  // ETIMEDOUT is the expected way out
    }

    /// `body` with the lock held.
    @inline(__always)
    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// The monotonic clock in nanoseconds.
    package static func now() -> UInt64 { cil_monotonic_nanos() }
}
