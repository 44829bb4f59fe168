// IntakeTelemetry: a metrics registry (counters, gauges, histograms with fixed buckets) and its
// Prometheus text exposition (format 0.0.4).
// Any thread: counters and gauges are atomics, histograms take a short lock; the registry's
// family table is behind a mutex touched only when a metric is created or scraped.
import Synchronization

/// Label pairs of one series, e.g. `["channel": "web"]`. Order is normalised by name.
public typealias Labels = [String: String]

/// A monotonically increasing count.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    @inline(__always) public func increment(by n: Int = 1) { value.add(n, ordering: .relaxed) }
    public var current: Int { value.load(ordering: .relaxed) }
}

/// A value that goes up and down.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0.0.bitPattern)
    public init() {}
    public func set(_ v: Double) { bits.store(v.bitPattern, ordering: .relaxed) }
    public func add(_ d: Double) {
        var old = bits.load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + d).bitPattern
            let (exchanged, original) = bits.compareExchange(expected: old, desired: new, ordering: .relaxed)
            if exchanged { return }
            old = original
        }
    }
    public func increment() { add(1) }
    public func decrement() { add(-1) }
    public var current: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// Observations counted into fixed buckets (upper bounds, ascending; +Inf is implicit).
public final class Histogram: Sendable {
    public let bounds: [Double]
    private struct State { var counts: [Int]; var sum: Double; var count: Int }
    private let state: Mutex<State>

    public init(bounds: [Double]) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "BUG: histogram bounds must ascend")
        self.bounds = bounds
        self.state = Mutex(State(counts: [Int](repeating: 0, count: bounds.count + 1), sum: 0, count: 0))
    }

    public func observe(_ v: Double) {
        var i = 0
        while i < bounds.count && v > bounds[i] { i += 1 }
        state.withLock { s in
            s.counts[i] += 1
            s.sum += v
            s.count += 1
        }
    }

    /// Cumulative bucket counts (one per bound, then +Inf), sum and count.
    public func snapshot() -> (cumulative: [Int], sum: Double, count: Int) {
        state.withLock { s in
            var acc = 0
            let cum = s.counts.map { acc += $0; return acc }
            return (cum, s.sum, s.count)
        }
    }

    /// Latency buckets in seconds from 50 µs to 10 s.
    public static let latencySeconds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Waiting-time buckets in seconds from 1 s to 1 h.
    public static let waitSeconds: [Double] = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600]
}

/// The kind of a metric family, as written on its `# TYPE` line.
public enum MetricKind: String, Sendable { case counter, gauge, histogram }

/// All metrics of the process. `MetricsRegistry.shared` is what /metrics exposes; tests make
/// their own.
public final class MetricsRegistry: Sendable {
    public static let shared = MetricsRegistry()

    private enum Series: Sendable {
        case counter(Counter), gauge(Gauge), histogram(Histogram)
        case function(@Sendable () -> Double)
    }
    private struct Family: Sendable {
        var kind: MetricKind
        var help: String
        var series: [String: (labels: [(String, String)], series: Series)] = [:]
    }
    private let families = Mutex<[String: Family]>([:])

    public init() {}

    public func counter(_ name: String, help: String, labels: Labels = [:]) -> Counter {
        lookup(name, .counter, help, labels, make: { .counter(Counter()) }) { if case .counter(let c) = $0 { c } else { nil } }
    }

    public func gauge(_ name: String, help: String, labels: Labels = [:]) -> Gauge {
        lookup(name, .gauge, help, labels, make: { .gauge(Gauge()) }) { if case .gauge(let g) = $0 { g } else { nil } }
    }

    public func histogram(_ name: String, help: String, labels: Labels = [:], bounds: [Double] = Histogram.latencySeconds) -> Histogram {
        lookup(name, .histogram, help, labels, make: { .histogram(Histogram(bounds: bounds)) }) {
            if case .histogram(let h) = $0 { h } else { nil }
        }
    }

    /// A gauge whose value is read at scrape time (e.g. a queue depth owned by another thread,
    /// which publishes it through its own atomic). Registering the same series again replaces it.
    public func gaugeFunction(_ name: String, help: String, labels: Labels = [:], _ read: @escaping @Sendable () -> Double) {
        families.withLock { f in
            var fam = f[name] ?? Family(kind: .gauge, help: help)
            precondition(fam.kind == .gauge, "BUG: metric \(name) registered as \(fam.kind) and gauge")
            let sorted = labels.sorted { $0.key < $1.key }
            fam.series[Self.key(sorted)] = (sorted, .function(read))
            f[name] = fam
        }
    }

    /// Declares a family with no series yet, so that its HELP and TYPE are exposed.
    public func declare(_ name: String, kind: MetricKind, help: String) {
        families.withLock { f in if f[name] == nil { f[name] = Family(kind: kind, help: help) } }
    }

    private func lookup<T>(_ name: String, _ kind: MetricKind, _ help: String, _ labels: Labels,
                           make: () -> Series, extract: (Series) -> T?) -> T {
        let sorted = labels.sorted { $0.key < $1.key }
        let key = Self.key(sorted)
        return families.withLock { f in
            var fam = f[name] ?? Family(kind: kind, help: help)
            precondition(fam.kind == kind, "BUG: metric \(name) registered as \(fam.kind) and \(kind)")
            if let existing = fam.series[key], let t = extract(existing.series) { return t }
            let s = make()
            fam.series[key] = (sorted, s)
            f[name] = fam
            return extract(s)!
        }
    }

    private static func key(_ labels: [(String, String)]) -> String {
        labels.map { $0.0 + "\u{1}" + $0.1 }.joined(separator: "\u{2}")
    }

    /// One series' current value, for in-process readers (the operations page).
    public struct Sample: Sendable {
        public var name: String
        public var labels: [String: String]
        /// Counter or gauge value; for a histogram, its count.
        public var value: Double
        /// Histograms only: (upper bound, cumulative count) per bucket, +Inf last, and the sum.
        public var buckets: [(le: Double, count: Int)] = []
        public var sum: Double = 0
    }

    /// The current value of every series of the families named (all families if `names` is
    /// empty).
    public func samples(_ names: Set<String> = []) -> [Sample] {
        let snapshot = families.withLock { $0 }
        var out: [Sample] = []
        for (name, fam) in snapshot where names.isEmpty || names.contains(name) {
            for (labels, series) in fam.series.values {
                let l = Dictionary(labels, uniquingKeysWith: { a, _ in a })
                switch series {
                case .counter(let c): out.append(Sample(name: name, labels: l, value: Double(c.current)))
                case .gauge(let g): out.append(Sample(name: name, labels: l, value: g.current))
                case .function(let read): out.append(Sample(name: name, labels: l, value: read()))
                case .histogram(let h):
                    let (cum, sum, count) = h.snapshot()
                    var b = h.bounds.enumerated().map { (le: $0.element, count: cum[$0.offset]) }
                    b.append((le: .infinity, count: cum[h.bounds.count]))
                    out.append(Sample(name: name, labels: l, value: Double(count), buckets: b, sum: sum))
                }
            }
        }
        return out
    }

    /// The Prometheus text exposition of every family, sorted by name.
    public func exposition() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for name in snapshot.keys.sorted() {
            let fam = snapshot[name]!
            out += "# HELP \(name) \(Self.escapeHelp(fam.help))\n# TYPE \(name) \(fam.kind.rawValue)\n"
            for key in fam.series.keys.sorted() {
                let (labels, series) = fam.series[key]!
                switch series {
                case .counter(let c): out += name + Self.render(labels) + " " + String(c.current) + "\n"
                case .gauge(let g): out += name + Self.render(labels) + " " + Self.format(g.current) + "\n"
                case .function(let read): out += name + Self.render(labels) + " " + Self.format(read()) + "\n"
                case .histogram(let h):
                    let (cum, sum, count) = h.snapshot()
                    for (i, b) in h.bounds.enumerated() {
                        out += name + "_bucket" + Self.render(labels + [("le", Self.format(b))]) + " " + String(cum[i]) + "\n"
                    }
                    out += name + "_bucket" + Self.render(labels + [("le", "+Inf")]) + " " + String(cum[h.bounds.count]) + "\n"
                    out += name + "_sum" + Self.render(labels) + " " + Self.format(sum) + "\n"
                    out += name + "_count" + Self.render(labels) + " " + String(count) + "\n"
                }
            }
        }
        return out
    }

    static func render(_ labels: [(String, String)]) -> String {
        if labels.isEmpty { return "" }
        return "{" + labels.map { $0.0 + "=\"" + escapeLabel($0.1) + "\"" }.joined(separator: ",") + "}"
    }

    static func escapeLabel(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

extension String {
    func replacingAll(_ a: Character, with b: String) -> String {
        var o = ""
        for c in self { if c == a { o += b } else { o.append(c) } }
        return o
    }
}
