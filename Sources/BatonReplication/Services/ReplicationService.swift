import BatonSystem
import ServiceLifecycle

/// A replication run (`baton replicate`) as a service: `body` replicates
/// until the function it is given says stop, then finishes (captures,
/// seals and uploads everything) and returns. The group's graceful
/// shutdown (SIGTERM or SIGINT, or the `--exec` child ending) says stop;
/// the service ends when the run has finished, so nothing captured is left
/// behind. A cancelled task says stop too.
public struct ReplicationService: Service {
    private let body: @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) async throws -> Void

    /// A service running `body`.
    public init(_ body: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) async throws -> Void) {
        self.body = body
    }

    public func run() async throws {
        // Opened once the group shuts down.
        let stop = Latch()
        try await withGracefulShutdownHandler {
            try await body { stop.isOpen || Task.isCancelled }
        } onGracefulShutdown: {
            stop.open()
        }
    }
}
