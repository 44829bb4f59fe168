// Runs one closure per POSIX thread and joins them: the driver runs each phase of a benchmark
// (connect, run, verify) on the client-loop threads and joins before the next, which also gives
// the happens-before edge for reading the loops' statistics. No Foundation, no Dispatch.
import Glibc

/// A set of started threads; `join()` waits for all of them.
struct ThreadGroup: ~Copyable {
    private final class Body: @unchecked Sendable {
        // Unchecked: the closure runs on exactly one thread, and the starter only touches it again
        // after pthread_join.
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private var threads: [pthread_t] = []

    /// Starts one thread per closure.
    init(_ bodies: [() -> Void]) {
        for body in bodies {
            let context = Unmanaged.passRetained(Body(body)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            }, context)
            precondition(rc == 0, "BUG: pthread_create failed with \(rc)")
            threads.append(thread)
        }
    }

    consuming func join() {
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Starts the closures and waits for all of them.
    static func runAll(_ bodies: [() -> Void]) {
        ThreadGroup(bodies).join()
    }
}
