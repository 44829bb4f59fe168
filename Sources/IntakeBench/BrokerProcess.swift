// A broker process started by a benchmark: posix_spawn with stdout on a pipe (to time the ready
// line precisely) and stderr to a file, then SIGTERM and a bounded wait. Owned by the main
// thread; the child is always reaped or killed before the value is dropped.
import Glibc

final class BrokerProcess {
    let pid: pid_t
    /// Monotonic nanoseconds just before posix_spawn.
    let startedAt: UInt64
    private let stdoutFD: Int32
    private var output: [UInt8] = []
    private var reaped = false

    /// Starts `argv[0]` with `argv`; stderr is appended to `stderrPath`.
    init(_ argv: [String], stderrPath: String) throws(UsageError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw UsageError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // the child keeps only its dup2'd stdout
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var child: pid_t = 0
        startedAt = ProcStats.nowNanos()
        let rc = posix_spawn(&child, argv[0], &actions, nil, cArgs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw UsageError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        stdoutFD = fds[0]
    }

    deinit {
        if !reaped {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(stdoutFD)
    }

    /// Waits for a stdout line starting with `prefix`; returns it and the nanoseconds since the
    /// spawn, or nil when the process exits or `timeoutS` passes first.
    func waitForLine(prefix: String, timeoutS: Double) -> (line: String, nanos: UInt64)? {
        let deadline = startedAt + UInt64(timeoutS * 1e9)
        let wanted = Array(prefix.utf8)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let newline = output.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(output[..<newline])
                output.removeFirst(newline + 1)
                if line.starts(with: wanted) { return (String(decoding: line, as: UTF8.self), ProcStats.nowNanos() - startedAt) }
            }
            let now = ProcStats.nowNanos()
            guard now < deadline else { return nil }
            var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            output.append(contentsOf: chunk[0..<n])
        }
    }

    /// Sends SIGTERM and waits up to `timeoutS` (SIGKILL after that). Returns the wait in
    /// nanoseconds and whether the process exited on its own with status 0.
    func terminate(timeoutS: Double) -> (nanos: UInt64, clean: Bool) {
        let start = ProcStats.nowNanos()
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while ProcStats.nowNanos() - start < UInt64(timeoutS * 1e9) {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                reaped = true
                // WIFEXITED and WEXITSTATUS are macros Swift cannot import.
                return (ProcStats.nowNanos() - start, status & 0x7f == 0 && (status >> 8) & 0xff == 0)
            }
            ProcStats.sleep(seconds: 0.002)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        reaped = true
        return (ProcStats.nowNanos() - start, false)
    }
}
