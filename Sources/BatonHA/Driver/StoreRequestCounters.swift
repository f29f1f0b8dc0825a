import BatonStore
import Prometheus
import Synchronization

/// A store's request counts (`StoreMetrics`) as a Prometheus counter by
/// kind and outcome, one series made the first time a pair is seen, moved
/// on by what was counted since the last scrape.
final class StoreRequestCounters: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let help: String
    private let source: StoreMetrics
    private let counters: Mutex<[StoreMetrics.Key: Counter]> = Mutex([:])
    private let seen: Mutex<[StoreMetrics.Key: Int]> = Mutex([:])

    /// Counters named `name` in `registry` for the requests `source` counts.
    init(registry: PrometheusCollectorRegistry, name: String, help: String, source: StoreMetrics) {
        self.registry = registry
        self.name = name
        self.help = help
        self.source = source
    }

    /// Brings the counters up to the source's counts.
    func update() {
        for (key, count) in source.requests {
            let counter = counters.withLock { counters in
                if let existing = counters[key] { return existing }
                let made = registry.makeCounter(
                    name: name, labels: [("kind", key.kind), ("outcome", key.outcome)], help: help)
                counters[key] = made
                return made
            }
            let delta = seen.withLock { seen -> Int in
                defer { seen[key] = count }
                return count - (seen[key] ?? 0)
            }
            if delta > 0 { counter.increment(by: Int64(delta)) }
        }
    }
}
