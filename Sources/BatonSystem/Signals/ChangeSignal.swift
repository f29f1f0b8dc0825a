import Synchronization

/// A counter that tasks can wait on: `signal()` bumps it and wakes every
/// waiter. A waiter reads `version`, checks its condition, and waits for
/// a change from that version, so no signal between the check and the
/// wait is missed.
public final class ChangeSignal: Sendable {
    private struct State {
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let clock: any BatonClock

    /// A signal whose waits time out on `clock`.
    public init(clock: any BatonClock) { self.clock = clock }

    /// The number of signals so far.
    public var version: UInt64 { state.withLock { $0.version } }

    /// Something changed: wake every waiter.
    public func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.version &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the version differs from `seen`, after `timeoutMilliseconds`, or on cancellation.
    public func wait(from seen: UInt64, timeoutMilliseconds: Int64) async {
        // The deadline is fixed now, not when the timer task starts (the clock may move meanwhile).
        await wait(from: seen, until: clock.now() + timeoutMilliseconds)
    }

    /// Returns once the version differs from `seen`, once the clock reads
    /// `deadline` (absolute, on this signal's clock), or on cancellation.
    public func wait(from seen: UInt64, until deadline: Int64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.version != seen || Task.isCancelled { return true }
                            state.waiters[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                    waiter?.resume()
                }
            }
            group.addTask { [clock] in try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }
}
