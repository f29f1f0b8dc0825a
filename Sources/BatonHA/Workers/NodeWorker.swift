import BatonSystem
import ServiceLifecycle
import Synchronization

/// One long-running part of a node — the lease keeper, the sync monitor,
/// a database's shipper or stream follower — as a `Service` of the node's
/// group, alive for the node's whole life. The driver hands it the work its
/// role needs (`begin`) and takes it back (`end`, which returns only once
/// the work has stopped, so nothing of it runs on afterwards); the group
/// runs it, cancels it with the node and shuts it down after the driver.
/// One piece of work at a time; work runs until it is ended or cancelled.
final class NodeWorker: Service, Sendable, CustomStringConvertible {
    /// What it does; the service group's log lines name it.
    let name: String

    var description: String { name }

    private struct Work: Sendable {
        var id: UInt64
        var body: @Sendable () async -> Void
        /// Opened by `end`: the body is cancelled.
        var stop: Latch
        /// Opened once the body returned.
        var ended: Latch
    }

    private struct State {
        var pending: Work?
        var running: Work?
        var nextID: UInt64 = 0
        var shutDown = false
        var runner: CheckedContinuation<Work?, Never>?
    }

    private let state = Mutex(State())

    /// A worker called `name`, idle until given work.
    init(name: String) { self.name = name }

    /// Whether work was given and has not ended.
    var isBusy: Bool { state.withLock { $0.pending != nil || $0.running != nil } }

    /// Ends the current work (waiting for it) and starts `body` instead.
    func begin(_ body: @escaping @Sendable () async -> Void) async {
        await end()
        let runner = state.withLock { state -> (CheckedContinuation<Work?, Never>, Work)? in
            state.nextID &+= 1
            let work = Work(id: state.nextID, body: body, stop: Latch(), ended: Latch())
            guard let runner = state.runner else {
                state.pending = work
                return nil
            }
            state.runner = nil
            state.running = work
            return (runner, work)
        }
        if let (runner, work) = runner { runner.resume(returning: work) }
    }

    /// Stops the current work and returns once it has stopped (at once when idle).
    func end() async {
        let work = state.withLock { state -> Work? in
            if state.pending != nil {
                // Never started: nothing to wait for.
                state.pending = nil
                return nil
            }
            return state.running
        }
        guard let work else { return }
        work.stop.open()
        await work.ended.wait()
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while let work = await next() {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await work.body() }
                    group.addTask { await work.stop.wait() }
                    await group.next()
                    group.cancelAll()
                }
                state.withLock { state in
                    if state.running?.id == work.id { state.running = nil }
                }
                work.ended.open()
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
    }

    /// The next work to run; nil once shut down or cancelled.
    private func next() async -> Work? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Work?, Never>) in
                let ready = state.withLock { state -> Work?? in
                    if state.shutDown || Task.isCancelled { return .some(nil) }
                    if let work = state.pending {
                        state.pending = nil
                        state.running = work
                        return .some(work)
                    }
                    state.runner = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            self.shutDown()
        }
    }

    /// Stops taking work and stops what runs.
    private func shutDown() {
        let (runner, running) = state.withLock { state in
            state.shutDown = true
            defer { state.runner = nil }
            return (state.runner, state.running)
        }
        runner?.resume(returning: nil)
        running?.stop.open()
    }
}
