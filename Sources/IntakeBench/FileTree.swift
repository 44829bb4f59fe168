// Small file-system helpers for benchmarks that manage a scratch directory: write a file, total
// the bytes under a directory, remove a directory tree. Glibc only; main thread.
import Glibc

enum FileTree {
    /// Creates or truncates `path` with `text`.
    static func write(_ path: String, _ text: String) throws(UsageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UsageError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw UsageError("write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Total size of the regular files under `path` (0 when missing).
    static func bytes(_ path: String) -> Int {
        var total = 0
        walk(path) { _, info in
            if info.st_mode & S_IFMT == S_IFREG { total += Int(info.st_size) }
        }
        return total
    }

    /// Removes `path` and everything under it, without following symbolic links.
    static func remove(_ path: String) {
        walk(path) { entry, info in
            if info.st_mode & S_IFMT == S_IFDIR { rmdir(entry) } else { unlink(entry) }
        }
    }

    /// Visits every entry under `path`, children before their directory (lstat, no symlinks followed).
    private static func walk(_ path: String, _ visit: (String, stat) -> Void) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) {
            var children: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { children.append(path + "/" + name) }
            }
            closedir(dir)
            for child in children { walk(child, visit) }
        }
        visit(path, info)
    }
}
