// Static files: serving, content types, index.html, ETag/304 and every traversal attempt,
// against a temporary directory tree with symlinks inside and outside the root.
// Test-thread only.
import Foundation
import Testing
@testable import IntakeWire

@Suite(.timeLimit(.minutes(5)))
struct HTTPStaticFilesTests {
    /// A fresh tree: <base>/root/{index.html, app.js, style.CSS, data.bin, sub/index.html,
    /// .secret, inside-link -> app.js, outside-link -> ../outside.txt, dir-link -> ..},
    /// <base>/outside.txt.
    static func makeTree() throws -> (base: String, files: StaticFiles) {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("intake-static-\(UInt64.random(in: 0...UInt64.max))").path
        let root = base + "/root"
        try fm.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        func write(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
        try write(root + "/index.html", "<h1>widget</h1>")
        try write(root + "/app.js", "console.log(1)")
        try write(root + "/style.CSS", "p{}")
        try write(root + "/data.bin", "\u{0}\u{1}")
        try write(root + "/sub/index.html", "sub")
        try write(root + "/.secret", "s")
        try write(base + "/outside.txt", "outside")
        try fm.createSymbolicLink(atPath: root + "/inside-link", withDestinationPath: "app.js")
        try fm.createSymbolicLink(atPath: root + "/outside-link", withDestinationPath: base + "/outside.txt")
        try fm.createSymbolicLink(atPath: root + "/dir-link", withDestinationPath: "..")
        let files = try #require(StaticFiles(root: root))
        return (base, files)
    }

    @Test func servesFilesWithContentTypes() throws {
        let (base, files) = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let cases: [(String, String, String)] = [
            ("/widget/", "text/html; charset=utf-8", "<h1>widget</h1>"),
            ("/widget/index.html", "text/html; charset=utf-8", "<h1>widget</h1>"),
            ("/widget/app.js", "text/javascript; charset=utf-8", "console.log(1)"),
            ("/widget/style.CSS", "text/css; charset=utf-8", "p{}"),
            ("/widget/data.bin", "application/octet-stream", "\u{0}\u{1}"),
            ("/widget/sub/", "text/html; charset=utf-8", "sub"),
            ("/widget/sub", "text/html; charset=utf-8", "sub"),
            ("/widget/inside-link", "text/javascript; charset=utf-8", "console.log(1)"),
        ]
        for (path, type, body) in cases {
            guard case .file(let file) = files.resolve(path: path) else {
                Issue.record("\(path) not served")
                continue
            }
            #expect(file.contentType == type, "\(path)")
            #expect(file.body == utf8(body), "\(path)")
            #expect(file.etag.hasPrefix("\"") && file.etag.hasSuffix("\""))
        }
    }

    @Test func refusesTraversal() throws {
        let (base, files) = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let refused = [
            "/widget/../outside.txt", "/widget/sub/../../outside.txt", "/widget/./app.js", "/widget/.secret",
            "/widget//etc/passwd", "/widget/sub//index.html", "/widget/..\\outside.txt", "/widget/app.js\u{0}.png",
            "/widget/outside-link", "/widget/dir-link/outside.txt", "/widget/" + base + "/outside.txt",
        ]
        for path in refused {
            let result = files.resolve(path: path)
            #expect(result == .forbidden || result == .notFound, "\(path.debugDescription) gave \(result)")
            if case .file = result { Issue.record("served \(path.debugDescription)") }
        }
        #expect(files.resolve(path: "/widget/../outside.txt") == .forbidden)
        #expect(files.resolve(path: "/widget/outside-link") == .forbidden)
        #expect(files.resolve(path: "/widget/missing.js") == .notFound)
        #expect(files.resolve(path: "/other/app.js") == .notFound)
    }

    @Test func encodedTraversalIsRefusedAfterParsing() throws {
        let (base, files) = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        for target in ["/widget/%2e%2e/outside.txt", "/widget/%2E%2E%2Foutside.txt", "/widget/sub/%2e%2e/%2e%2e/outside.txt",
                       "/widget/%5c..%5coutside.txt"] {
            let request = try #require(expectOne("GET \(target) HTTP/1.1\r\n\r\n"))
            #expect(files.resolve(path: request.head.path) == .forbidden, "\(target)")
        }
        // Double encoding is decoded once: the name stays literal and is simply not there.
        let double = try #require(expectOne("GET /widget/%252e%252e/outside.txt HTTP/1.1\r\n\r\n"))
        #expect(files.resolve(path: double.head.path) == .notFound)
    }

    @Test func etagGives304() throws {
        let (base, files) = try Self.makeTree()
        defer { try? FileManager.default.removeItem(atPath: base) }
        guard case .file(let file) = files.resolve(path: "/widget/app.js") else {
            Issue.record("app.js not served")
            return
        }
        #expect(files.resolve(path: "/widget/app.js", ifNoneMatch: file.etag) == .notModified(etag: file.etag))
        #expect(files.resolve(path: "/widget/app.js", ifNoneMatch: "\"x\", W/\(file.etag)") == .notModified(etag: file.etag))
        #expect(files.resolve(path: "/widget/app.js", ifNoneMatch: "*") == .notModified(etag: file.etag))
        guard case .file = files.resolve(path: "/widget/app.js", ifNoneMatch: "\"other\"") else {
            Issue.record("a different ETag gave no file")
            return
        }
        let response = files.response(path: "/widget/app.js", ifNoneMatch: file.etag)
        #expect(response.status == .notModified)
        #expect(response.headers["etag"] == file.etag)
        #expect(files.response(path: "/widget/../outside.txt").status == .notFound)
        #expect(files.response(path: "/widget/").headers["Content-Type"] == "text/html; charset=utf-8")
    }

    @Test func missingRootIsNil() {
        #expect(StaticFiles(root: "/nonexistent-intake-root-\(UInt32.random(in: 0...UInt32.max))") == nil)
    }

    @Test(arguments: [("a.json", "application/json"), ("a.png", "image/png"), ("a.svg", "image/svg+xml"),
                      ("favicon.ico", "image/x-icon"), ("f.woff2", "font/woff2"), ("r.txt", "text/plain; charset=utf-8"),
                      ("noext", "application/octet-stream")])
    func contentTypes(name: String, type: String) {
        #expect(StaticFiles.contentType(for: name) == type)
    }
}
