import BatonSystem
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import BatonHA

/// The node's workers: work runs only between `begin` and `end`, `end`
/// returns only once the work has stopped, and the group's shutdown stops them.
@Suite struct NodeWorkerTests {
    /// Counts what the work did.
    final class Probe: Sendable {
        let started = Latch()
        let state = Mutex<(runs: Int, running: Bool)>((0, false))

        /// Work that runs until cancelled.
        func work() async {
            state.withLock {
                $0.runs += 1
                $0.running = true
            }
            started.open()
            await Latch().wait()  // until cancelled
            state.withLock { $0.running = false }
        }
    }

    func group(_ worker: NodeWorker) -> ServiceGroup {
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        return ServiceGroup(services: [worker], logger: logger)
    }

    @Test func workRunsFromBeginUntilEndAndEndWaitsForIt() async throws {
        let worker = NodeWorker(name: "test")
        let group = group(worker)
        let running = Task { try await group.run() }
        let probe = Probe()
        await worker.begin { await probe.work() }
        await probe.started.wait()
        #expect(worker.isBusy)
        #expect(probe.state.withLock { $0.running })
        await worker.end()
        // Once end returns, the work has run to its end: nothing of it goes on.
        #expect(!probe.state.withLock { $0.running })
        #expect(!worker.isBusy)
        await worker.end()  // idle: returns at once

        // New work ends the old first: at no moment do two run.
        let second = Probe()
        await worker.begin { await second.work() }
        await second.started.wait()
        let third = Probe()
        await worker.begin { await third.work() }
        #expect(!second.state.withLock { $0.running })
        await third.started.wait()
        #expect(third.state.withLock { $0.running })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!third.state.withLock { $0.running })
    }

    @Test func workGivenBeforeTheServiceRunsStartsWhenItDoes() async throws {
        let worker = NodeWorker(name: "test")
        let probe = Probe()
        await worker.begin { await probe.work() }
        #expect(worker.isBusy)
        #expect(probe.state.withLock { $0.runs } == 0)
        let group = group(worker)
        let running = Task { try await group.run() }
        await probe.started.wait()
        #expect(probe.state.withLock { $0.running })
        running.cancel()
        try? await running.value
        #expect(!probe.state.withLock { $0.running })
        await worker.end()
    }

    @Test func workEndedBeforeItStartedNeverRuns() async throws {
        let worker = NodeWorker(name: "test")
        let probe = Probe()
        await worker.begin { await probe.work() }
        await worker.end()
        #expect(!worker.isBusy)
        let group = group(worker)
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(probe.state.withLock { $0.runs } == 0)
    }

    @Test func aManualClockWakesSleepersOnlyWhenTheirDeadlineIsReached() async throws {
        let clock = ManualClock(start: 0)
        let woke = Latch()
        let sleeper = Task {
            try await clock.sleep(until: 100)
            woke.open()
        }
        while clock.sleeping == 0 { await Task.yield() }
        #expect(clock.nextDeadline == 100)
        clock.advance(by: 99)
        #expect(clock.sleeping == 1)
        #expect(!woke.isOpen)
        clock.advance(by: 1)
        try await sleeper.value
        #expect(woke.isOpen)
        #expect(clock.sleeping == 0)

        // A cancelled sleeper leaves at once.
        let cancelled = Task { try await clock.sleep(until: 1000) }
        while clock.sleeping == 0 { await Task.yield() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleeping == 0)
    }
}
