import BatonReplication
import BatonSystem
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// `baton replicate` as one service group: a shutdown reaches the `--exec`
/// child first, and replication is told to stop only once the child has
/// exited (so the app's last writes are still captured); a child that
/// exits on its own ends the group the same way.
@Suite struct ReplicationServicesTests {
    /// What the replication body saw, in order.
    final class Events: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    func group(_ child: ChildProcess, _ events: Events) -> ServiceGroup {
        let replication = ReplicationService { shouldStop in
            events.add("started")
            for _ in 0..<3000 where !shouldStop() { try await Task.sleep(nanoseconds: 10_000_000) }
            events.add(child.isRunning ? "stopped with the child running" : "stopped after the child exited")
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: replication, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: ChildService(child: child), successTerminationBehavior: .gracefullyShutdownGroup),
                ], gracefulShutdownSignals: [], logger: logger))
    }

    @Test func aShutdownStopsTheChildFirstThenReplication() async throws {
        let child = try ChildProcess(arguments: [
            // Bounded: a child the shutdown never reaches exits 9 after 30 s, failing the test instead of hanging it.
            "/bin/sh", "-c", "trap 'exit 5' TERM; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 9",
        ])
        let events = Events()
        let group = self.group(child, events)
        let running = Task { try await group.run() }
        for _ in 0..<500 where events.all.isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
        try await Task.sleep(nanoseconds: 200_000_000)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(child.exitStatus == 5)
        #expect(events.all == ["started", "stopped after the child exited"])
    }

    @Test func aChildThatExitsEndsReplication() async throws {
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", "sleep 0.3; exit 3"])
        let events = Events()
        try await group(child, events).run()
        #expect(child.exitStatus == 3)
        #expect(events.all == ["started", "stopped after the child exited"])
    }
}
