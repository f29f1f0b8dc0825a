import BatonCore
import Synchronization

/// Keeps a lease taken with a `LeaseClient` for as long as it can be
/// proven held, for the node's holder and for `baton lock`: one task renews
/// it, another calls `onLost` the moment writes must stop (it sleeps until
/// the lease's own deadline, so a renewal stuck on a slow store never delays
/// fencing). `onLost` is called on every check while the lease is lost
/// (about every 50 ms); it should be cheap when there is nothing left to stop.
public final class LeaseKeeper: Sendable {
    private let client: LeaseClient
    private let renewEveryMilliseconds: Int64
    private let onLost: @Sendable () async -> Void
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let lostState = Mutex(false)

    /// A keeper for `client`'s lease; `start` begins renewing and watching.
    public init(
        client: LeaseClient, renewEveryMilliseconds: Int64 = 100, onLost: @escaping @Sendable () async -> Void
    ) {
        self.client = client
        self.renewEveryMilliseconds = renewEveryMilliseconds
        self.onLost = onLost
    }

    /// Whether writes had to stop at some point since `start`.
    public var lost: Bool { lostState.withLock { $0 } }

    /// Starts renewing and watching (again, after `stop`).
    public func start() {
        stop()
        lostState.withLock { $0 = false }
        let client = self.client
        let every = UInt64(max(renewEveryMilliseconds, 1)) * 1_000_000
        let renew = Task.detached {
            while !Task.isCancelled {
                _ = await client.maintain()
                try? await Task.sleep(nanoseconds: every)
            }
        }
        let watch = Task.detached { [self] in
            while !Task.isCancelled {
                if !client.mayWrite {
                    lostState.withLock { $0 = true }
                    await onLost()
                }
                // Wake at the deadline itself when it is nearer than the next check.
                let left = client.timeLeftMilliseconds ?? 50
                try? await Task.sleep(nanoseconds: UInt64(min(max(left, 1), 50)) * 1_000_000)
            }
        }
        tasks.withLock { $0 = [renew, watch] }
    }

    /// Stops renewing and watching (the lease itself is left as it is).
    public func stop() {
        for task in tasks.withLock({ tasks in
            defer { tasks = [] }; return tasks
        }) { task.cancel() }
    }

    deinit { stop() }
}
