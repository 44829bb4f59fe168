// StaticFiles: serves the small files under one directory (the widget's page and script) at a
// URL prefix, refusing every way out of that directory, with content types and ETag/304.
// Immutable after init; resolve() does blocking file I/O, so call it where blocking is allowed
// (or cache its results) rather than on a busy loop thread.
#if canImport(Glibc)
import Glibc
#endif

/// A file ready to send.
public struct StaticFile: Sendable, Equatable {
    /// The real path of the file on disk.
    public var filePath: String
    /// The Content-Type for its extension (with `charset=utf-8` for text types).
    public var contentType: String
    /// A strong entity tag made of the file's size and modification time, quoted.
    public var etag: String
    /// The file's bytes.
    public var body: [UInt8]
}

/// The outcome of resolving a request path.
public enum StaticFileResult: Sendable, Equatable {
    /// Serve this file (200).
    case file(StaticFile)
    /// The client's copy is current (304); send the ETag again.
    case notModified(etag: String)
    /// Nothing to serve at that path (404).
    case notFound
    /// The path tries to leave the root or names a hidden file (answered as 404 or 403).
    case forbidden
}

/// The files under `root`, served at `urlPrefix`.
public struct StaticFiles: Sendable {
    /// The real (symlink-free, absolute) path of the root directory.
    public let root: String
    /// The URL path prefix, starting and ending with `/`, e.g. `/widget/`.
    public let urlPrefix: String
    /// Files larger than this are not served (404).
    public let maxFileBytes: Int

    /// Files under `root` at `urlPrefix`; nil when `root` is not an existing directory.
    public init?(root: String, urlPrefix: String = "/widget/", maxFileBytes: Int = 8 * 1024 * 1024) {
        precondition(urlPrefix.hasPrefix("/") && urlPrefix.hasSuffix("/"), "BUG: URL prefix must start and end with /")
        guard let real = realPathOf(root), fileKind(real) == S_IFDIR else { return nil }
        self.root = real
        self.urlPrefix = urlPrefix
        self.maxFileBytes = maxFileBytes
    }

    /// Maps a decoded request path (`HTTPRequestHead.path`) to a file. Refuses `.` and `..`
    /// segments and other dot-files, empty segments (`//`), backslashes, NUL, and any path
    /// whose real path (symlinks resolved) is outside the root. A directory serves its
    /// `index.html`. `ifNoneMatch` is the request's If-None-Match header, for 304.
    public func resolve(path: String, ifNoneMatch: String? = nil) -> StaticFileResult {
        guard path.hasPrefix(urlPrefix) else { return .notFound }
        let rest = path.dropFirst(urlPrefix.count)
        if rest.utf8.contains(0) || rest.utf8.contains(UInt8(ascii: "\\")) { return .forbidden }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        for (k, segment) in segments.enumerated() {
            if segment.hasPrefix(".") { return .forbidden }
            if segment.isEmpty && k != segments.count - 1 { return .forbidden }
        }
        guard var real = realPathOf(root + "/" + rest) else { return .notFound }
        guard isInsideRoot(real) else { return .forbidden }
        if fileKind(real) == S_IFDIR {
            guard let index = realPathOf(real + "/index.html") else { return .notFound }
            guard isInsideRoot(index) else { return .forbidden }
            real = index
        }
        return read(real, ifNoneMatch: ifNoneMatch)
    }

    /// The response for `path`: 200 with the file, 304, or a CONTRACT error body (404 for
    /// both missing and refused paths, so probing reveals nothing).
    public func response(path: String, ifNoneMatch: String? = nil) -> HTTPResponse {
        switch resolve(path: path, ifNoneMatch: ifNoneMatch) {
        case .file(let file):
            return HTTPResponse(status: .ok, headers: [
                "Content-Type": file.contentType, "ETag": file.etag, "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
            ], body: file.body)
        case .notModified(let etag):
            return HTTPResponse(status: .notModified, headers: ["ETag": etag, "Cache-Control": "no-cache"])
        case .notFound, .forbidden:
            return .error(status: .notFound, code: "not_found", message: "no such file")
        }
    }

    /// The Content-Type for a file name's extension (case-insensitive);
    /// `application/octet-stream` when unknown.
    public static func contentType(for fileName: String) -> String {
        guard let dot = fileName.lastIndex(of: ".") else { return "application/octet-stream" }
        switch fileName[fileName.index(after: dot)...].lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "txt": return "text/plain; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }

    /// True when an If-None-Match value matches `etag` (weak comparison, RFC 9110 §13.1.2).
    static func ifNoneMatch(_ header: String, matches etag: String) -> Bool {
        let strong = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for candidate in header.split(separator: ",") {
            var tag = candidate.trimmingOWS()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag == strong { return true }
        }
        return false
    }

    private func isInsideRoot(_ real: String) -> Bool {
        root == "/" || real == root || real.hasPrefix(root + "/")
    }

    private func read(_ real: String, ifNoneMatch: String?) -> StaticFileResult {
        let fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .notFound }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int(st.st_size) <= maxFileBytes else {
            return .notFound
        }
        let size = Int(st.st_size)
        let mtimeNanos = Int(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(st.st_mtim.tv_nsec)
        let etag = "\"\(String(size, radix: 16))-\(String(UInt64(bitPattern: Int64(mtimeNanos)), radix: 16))\""
        if let ifNoneMatch, StaticFiles.ifNoneMatch(ifNoneMatch, matches: etag) { return .notModified(etag: etag) }
        var body = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = body.withUnsafeMutableBytes { b in
                guard let base = b.baseAddress else { return -1 }
                return pread(fd, base + done, size - done, off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            // A read error or a file that shrank under us: serve nothing rather than a torn file.
            guard n > 0 else { return .notFound }
            done += n
        }
        return .file(StaticFile(filePath: real, contentType: StaticFiles.contentType(for: real), etag: etag, body: body))
    }
}

private func realPathOf(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

private func fileKind(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & S_IFMT
}

extension Substring {
    fileprivate func trimmingOWS() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
