import BatonCore
import BatonSystem
import Synchronization

/// Keeps a lease taken with a `LeaseClient` for as long as it can be
/// proven held, for the node's holder and for `baton lock`: one loop renews
/// it when a renewal is due (a third of the TTL after the last, at once when
/// the record must name another in-sync standby, every `retryMilliseconds`
/// while renewals fail), another calls `onLost` the moment writes must stop
/// (it sleeps until the lease's own deadline on the client's clock, or until
/// the lease is lost to another holder, so a renewal stuck on a slow store
/// never delays fencing). Between those moments neither wakes. `onLost` is
/// called every `retryMilliseconds` while the lease is lost; it should be
/// cheap when there is nothing left to stop.
public final class LeaseKeeper: Sendable {
    private let client: LeaseClient
    private let retryMilliseconds: Int64
    private let onLost: @Sendable () async -> Void
    private let onSyncStandbyRecorded: @Sendable () -> Void
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let lostState = Mutex(false)

    /// A keeper for `client`'s lease; `keep` (or `start`) renews and
    /// watches. `onSyncStandbyRecorded` is called when a renewal changed the
    /// in-sync standby the record names (writes waiting on it look again).
    public init(
        client: LeaseClient, retryMilliseconds: Int64 = 100,
        onSyncStandbyRecorded: @escaping @Sendable () -> Void = {},
        onLost: @escaping @Sendable () async -> Void
    ) {
        self.client = client
        self.retryMilliseconds = retryMilliseconds
        self.onSyncStandbyRecorded = onSyncStandbyRecorded
        self.onLost = onLost
    }

    /// Whether writes had to stop at some point since keeping began.
    public var lost: Bool { lostState.withLock { $0 } }

    /// Renews and watches until the calling task is cancelled.
    public func keep() async {
        lostState.withLock { $0 = false }
        let client = self.client
        let retry = max(retryMilliseconds, 1)
        let recorded = onSyncStandbyRecorded
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let seen = client.changes.version
                    let before = client.recordedSyncStandby
                    _ = await client.maintain()
                    if client.recordedSyncStandby != before { recorded() }
                    // A failed renewal leaves the next one due at once: it is retried after `retry`.
                    // Absolute times: the clock may move between reading it and sleeping.
                    let now = client.clock.now()
                    let due = client.nextRenewalMilliseconds ?? 0
                    await client.changes.wait(from: seen, until: due > now ? due : now + retry)
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    let seen = client.changes.version
                    guard let deadline = client.deadlineMilliseconds, deadline > client.clock.now() else {
                        lostState.withLock { $0 = true }
                        await onLost()
                        await client.changes.wait(from: seen, timeoutMilliseconds: retry)
                        continue
                    }
                    // Until the deadline (a renewal moves it on: look again then) or a loss to another holder.
                    await client.changes.wait(from: seen, until: deadline)
                }
            }
        }
    }

    /// Starts keeping in a task of its own (again, after `stop`).
    public func start() {
        stop()
        lostState.withLock { $0 = false }
        let started = Task.detached { [self] in await keep() }
        task.withLock { $0 = started }
    }

    /// Stops what `start` began and returns once no renewal is in flight
    /// (release the lease only after this: a renewal landing after a
    /// release would hold it again).
    public func finish() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }

    /// Stops what `start` began without waiting (the lease itself is left as it is).
    public func stop() {
        task.withLock { task in
            defer { task = nil }
            return task
        }?.cancel()
    }

    deinit { stop() }
}
