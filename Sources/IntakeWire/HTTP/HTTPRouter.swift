// HTTPRouter: maps (method, path) to a handler through a trie of path segments: literal
// segments, `{name}` captures of one segment and a trailing `*` for the rest of the path.
// Built once at startup, then read-only; a value type, sendable when the handler is.
//
// Precedence at each segment: literal, then capture, then `*`, with backtracking, and the
// first route found (in that order) that has the method wins. 405 lists the methods of every
// route whose pattern matches the path.

/// The result of routing one request.
public enum RouteMatch<Handler> {
    /// A route matched; `params` holds the `{name}` captures and, for a `*` route, `"*"`: the
    /// rest of the path after the prefix (possibly empty).
    case found(Handler, params: [String: String])
    /// Some route's pattern matches the path but none has this method; `allowed` is sorted.
    case methodNotAllowed(allowed: [String])
    /// No route's pattern matches the path.
    case notFound
}

extension RouteMatch: Sendable where Handler: Sendable {}

/// A method-and-path router, generic over what a handler is.
public struct HTTPRouter<Handler> {
    struct Route {
        var handler: Handler
        var captureNames: [String]
    }

    struct Node {
        var literals: [String: Int] = [:]
        var capture: Int?
        /// Routes ending at this node, by method.
        var routes: [String: Route] = [:]
        /// Routes ending with `*` after this node, by method.
        var wildcardRoutes: [String: Route] = [:]
    }

    private var nodes: [Node] = [Node()]

    /// An empty router.
    public init() {}

    /// Adds a route. `pattern` starts with `/`; segments are literals, `{name}` (one non-empty
    /// segment) or, last only, `*`. Registering the same method and pattern twice, or a
    /// malformed pattern, is a programmer error.
    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        precondition(pattern.hasPrefix("/"), "BUG: route pattern \(pattern) must start with /")
        let segments = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var node = 0
        var names: [String] = []
        for (k, segment) in segments.enumerated() {
            if segment == "*" {
                precondition(k == segments.count - 1, "BUG: * must be the last segment of \(pattern)")
                precondition(nodes[node].wildcardRoutes[method] == nil, "BUG: duplicate route \(method) \(pattern)")
                nodes[node].wildcardRoutes[method] = Route(handler: handler, captureNames: names)
                return
            }
            if segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count > 2 {
                names.append(String(segment.dropFirst().dropLast()))
                if let next = nodes[node].capture {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].capture = nodes.count - 1
                    node = nodes.count - 1
                }
            } else {
                precondition(!segment.contains("{") && !segment.contains("}") && !segment.contains("*"),
                             "BUG: malformed segment \(segment) in \(pattern)")
                if let next = nodes[node].literals[String(segment)] {
                    node = next
                } else {
                    nodes.append(Node())
                    nodes[node].literals[String(segment)] = nodes.count - 1
                    node = nodes.count - 1
                }
            }
        }
        precondition(nodes[node].routes[method] == nil, "BUG: duplicate route \(method) \(pattern)")
        nodes[node].routes[method] = Route(handler: handler, captureNames: names)
    }

    /// Routes `method` (case-sensitive) and `path` (decoded, starting with `/`).
    public func match(method: String, path: String) -> RouteMatch<Handler> {
        guard path.hasPrefix("/") else { return .notFound }
        let segments = path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var captures: [Substring.UTF8View] = []
        var allowed: Set<String> = []
        var found: (Route, [Substring.UTF8View], String?)?
        walk(node: 0, segments: segments[...], captures: &captures, method: method, allowed: &allowed, found: &found)
        guard let (route, values, rest) = found else {
            return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted())
        }
        var params: [String: String] = [:]
        for (name, value) in zip(route.captureNames, values) { params[name] = String(Substring(value)) }
        if let rest { params["*"] = rest }
        return .found(route.handler, params: params)
    }

    /// Depth-first search in precedence order; stops at the first route with `method`, and
    /// otherwise collects the methods of every matching route into `allowed`.
    private func walk(node: Int, segments: ArraySlice<Substring.UTF8View>, captures: inout [Substring.UTF8View],
                      method: String, allowed: inout Set<String>, found: inout (Route, [Substring.UTF8View], String?)?) {
        let n = nodes[node]
        guard let segment = segments.first else {
            if let route = n.routes[method] {
                found = (route, captures, nil)
            } else {
                allowed.formUnion(n.routes.keys)
            }
            return
        }
        let rest = segments.dropFirst()
        if let next = n.literals[String(Substring(segment))] {
            walk(node: next, segments: rest, captures: &captures, method: method, allowed: &allowed, found: &found)
            if found != nil { return }
        }
        if let next = n.capture, !segment.isEmpty {
            captures.append(segment)
            walk(node: next, segments: rest, captures: &captures, method: method, allowed: &allowed, found: &found)
            if found != nil { return }
            captures.removeLast()
        }
        if !n.wildcardRoutes.isEmpty {
            if let route = n.wildcardRoutes[method] {
                let tail = segments.map { String(Substring($0)) }.joined(separator: "/")
                found = (route, captures, tail)
            } else {
                allowed.formUnion(n.wildcardRoutes.keys)
            }
        }
    }
}

extension HTTPRouter: Sendable where Handler: Sendable {}
extension HTTPRouter.Node: Sendable where Handler: Sendable {}
extension HTTPRouter.Route: Sendable where Handler: Sendable {}
