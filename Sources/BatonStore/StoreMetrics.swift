import Synchronization

/// Counts of store requests by kind and outcome, and bytes moved: the hook
/// the node's Prometheus metrics will read. Thread-safe.
public final class StoreMetrics: Sendable {
    /// One counted request.
    public struct Key: Hashable, Sendable {
        /// `list`, `get`, `put`, `delete`, `multipart`…
        public var kind: String
        /// `ok`, `not_found`, `precondition_failed`, `retry`, `error`.
        public var outcome: String

        /// A key from its parts.
        public init(kind: String, outcome: String) {
            self.kind = kind
            self.outcome = outcome
        }
    }

    private struct State {
        var requests: [Key: Int] = [:]
        var bytesUp: Int64 = 0
        var bytesDown: Int64 = 0
    }

    private let state = Mutex(State())

    /// Empty counters.
    public init() {}

    /// Counts one request.
    public func record(_ kind: String, _ outcome: String, up: Int64 = 0, down: Int64 = 0) {
        state.withLock {
            $0.requests[Key(kind: kind, outcome: outcome), default: 0] += 1
            $0.bytesUp += up
            $0.bytesDown += down
        }
    }

    /// Requests so far by kind and outcome.
    public var requests: [Key: Int] { state.withLock { $0.requests } }

    /// Bytes sent and received in request and response bodies.
    public var bytes: (up: Int64, down: Int64) { state.withLock { ($0.bytesUp, $0.bytesDown) } }
}
