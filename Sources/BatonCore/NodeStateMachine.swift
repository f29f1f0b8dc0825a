/// The role of an HA node and the decisions that move it between roles:
/// when a standby may try to take the baton, when a holder must fence
/// itself, how a hand-over proceeds. Pure: time comes in as arguments
/// (milliseconds on a monotonic clock), work goes out as actions that the
/// node's driver performs and reports back as events.
public struct NodeStateMachine: Sendable {
    /// What the node is doing.
    public enum Role: String, Sendable, Equatable {
        /// Looking at the lease for the first time.
        case starting
        /// Following the holder (or looking for one); the app is not running.
        case standby
        /// Holds the lease; catching up and starting the app.
        case promoting
        /// Holds the lease and runs the app.
        case holder
        /// Passing the baton to a standby: traffic held, app stopping.
        case handingOver
        /// Lost the lease: the app is being stopped and writes fenced.
        case steppingDown
        /// Shut down.
        case stopped
    }

    /// Work for the driver.
    public enum Action: Equatable, Sendable {
        case none
        /// Read the lease and take it if absent or expired (report `acquired` or `leaseHeld`).
        case tryAcquire
        /// Only read the lease to learn who holds it (report `leaseHeld`); right after handing over.
        case readLease
        /// We hold the lease at this epoch: catch up, start replicating and the app (report `promoted`).
        case promote(epoch: UInt64)
        /// Follow this holder's stream.
        case follow(holder: String, epoch: UInt64)
        /// Stop the app at once and stop writing anything under `epoch` (report `steppedDown`).
        case fence(epoch: UInt64)
        /// Hold traffic, drain, stop the app, ship the last transactions, release (report `handoffFinished`/`handoffFailed`).
        case handOver(epoch: UInt64, to: String?)
        /// Start the app again and serve: the hand-over could not complete.
        case resumeHolding(epoch: UInt64)
        /// Stop everything and exit.
        case exit
    }

    /// Failure-detection settings.
    public struct Timing: Sendable, Equatable {
        /// Without contact with the holder for this long, a standby looks at the lease.
        public var heartbeatTimeoutMilliseconds: Int64
        /// How often a standby that lost contact retries the lease.
        public var leaseRetryMilliseconds: Int64

        /// Settings; the defaults suit a 10 s lease.
        public init(heartbeatTimeoutMilliseconds: Int64 = 2000, leaseRetryMilliseconds: Int64 = 500) {
            self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
            self.leaseRetryMilliseconds = leaseRetryMilliseconds
        }
    }

    /// The current role.
    public private(set) var role: Role = .starting
    /// Our epoch while holding (or the one just held), else the newest seen.
    public private(set) var epoch: UInt64 = 0
    /// The holder we follow.
    public private(set) var holder: String?
    /// Counts for metrics.
    public private(set) var failovers = 0
    /// Completed hand-overs away from this node.
    public private(set) var handoffs = 0
    private let name: String
    private let timing: Timing
    private var lastContact: Int64
    /// When the lease was last tried (nil: try at the next chance).
    private var lastAttempt: Int64?
    private var shuttingDown = false
    /// After handing the baton over we must not take it back before the target had its chance.
    private var quietUntil: Int64 = .min
    private var offered = false

    /// A machine for the node called `name`, created at `now`.
    public init(name: String, timing: Timing = .init(), now: Int64) {
        self.name = name
        self.timing = timing
        lastContact = now
    }

    /// The node starts: look at the lease.
    public mutating func start(now: Int64) -> Action {
        role = .starting
        lastAttempt = now
        return .tryAcquire
    }

    /// A `tryAcquire` found the lease held by `holder` at `epoch`.
    public mutating func leaseHeld(holder: String, epoch: UInt64, now: Int64) -> Action {
        switch role {
        case .starting, .standby:
            let changed = holder != self.holder || epoch != self.epoch
            role = .standby
            self.epoch = max(self.epoch, epoch)
            if holder == name {
                // Our own record from before a restart: it must expire before anyone (us included) writes.
                self.holder = nil
                return .none
            }
            self.holder = holder
            if changed { lastContact = now }
            return changed ? .follow(holder: holder, epoch: epoch) : .none
        default:
            return .none
        }
    }

    /// A `tryAcquire` took the lease.
    public mutating func acquired(epoch: UInt64, now: Int64) -> Action {
        guard role == .starting || role == .standby else { return .none }
        if role == .standby, holder != nil, !offered { failovers += 1 }
        offered = false
        role = .promoting
        self.epoch = epoch
        holder = name
        return .promote(epoch: epoch)
    }

    /// The app runs and the node serves as holder.
    public mutating func promoted() -> Action {
        guard role == .promoting else { return .none }
        role = .holder
        if shuttingDown { return handOver(to: nil) }
        return .none
    }

    /// Promotion failed after the lease was taken (the store could not be read, the app would not start).
    public mutating func promotionFailed() -> Action {
        guard role == .promoting else { return .none }
        role = .steppingDown
        return .fence(epoch: epoch)
    }

    /// The standby heard from the holder (a stream response or heartbeat).
    public mutating func contact(holderEpoch: UInt64, now: Int64) {
        guard role == .standby else { return }
        lastContact = now
        epoch = max(epoch, holderEpoch)
    }

    /// Time passes.
    public mutating func tick(now: Int64) -> Action {
        guard role == .standby || role == .starting, !shuttingDown else { return .none }
        if now < quietUntil {
            guard holder == nil, retryDue(now) else { return .none }
            lastAttempt = now
            return .readLease
        }
        let silent = holder == nil || offered || now - lastContact >= timing.heartbeatTimeoutMilliseconds
        guard silent, retryDue(now) || offered else { return .none }
        lastAttempt = now
        return .tryAcquire
    }

    private func retryDue(_ now: Int64) -> Bool {
        guard let lastAttempt else { return true }
        return now - lastAttempt >= timing.leaseRetryMilliseconds
    }

    /// The holder offers us the baton (it released the lease for a hand-over).
    public mutating func takeoverOffered(now: Int64) -> Action {
        guard role == .standby, !shuttingDown else { return .none }
        offered = true
        lastAttempt = now
        return .tryAcquire
    }

    /// The lease client says we may no longer write (renewal failed past the deadline, or someone else took it).
    public mutating func leaseLost() -> Action {
        switch role {
        case .promoting, .holder, .handingOver:
            role = .steppingDown
            return .fence(epoch: epoch)
        default:
            return .none
        }
    }

    /// The app is stopped and nothing more is written under our epoch.
    public mutating func steppedDown(now: Int64) -> Action {
        guard role == .steppingDown else { return .none }
        return becomeStandby(now: now, quiet: false)
    }

    /// Leaves the holder's roles: exit when shutting down, else a standby
    /// that looks for the new holder (only reading the lease while `quiet`).
    private mutating func becomeStandby(now: Int64, quiet: Bool) -> Action {
        holder = nil
        if shuttingDown {
            role = .stopped
            return .exit
        }
        role = .standby
        lastContact = now
        lastAttempt = now
        guard quiet else { return .none }
        quietUntil = now + timing.heartbeatTimeoutMilliseconds
        return .readLease
    }

    /// An operator (or SIGTERM) asks the holder to pass the baton.
    public mutating func handoffRequested(to target: String?) -> Action {
        guard role == .holder else { return .none }
        return handOver(to: target)
    }

    private mutating func handOver(to target: String?) -> Action {
        role = .handingOver
        return .handOver(epoch: epoch, to: target)
    }

    /// The standby has the last transaction and the lease is released.
    public mutating func handoffFinished(now: Int64) -> Action {
        guard role == .handingOver else { return .none }
        handoffs += 1
        return becomeStandby(now: now, quiet: true)
    }

    /// No standby could take over (none caught up in time): keep holding.
    public mutating func handoffFailed() -> Action {
        guard role == .handingOver else { return .none }
        if shuttingDown {
            // Shutting down anyway: the lease was not released; it expires on its own.
            role = .steppingDown
            return .fence(epoch: epoch)
        }
        role = .holder
        return .resumeHolding(epoch: epoch)
    }

    /// SIGTERM: a holder hands over first, anything else just stops.
    public mutating func shutdownRequested() -> Action {
        guard !shuttingDown else { return .none }
        shuttingDown = true
        switch role {
        case .holder:
            return handOver(to: nil)
        case .promoting, .handingOver, .steppingDown:
            // Finishes what it is doing first; `promoted`/`handoffFinished`/`steppedDown` then exit.
            return .none
        case .starting, .standby, .stopped:
            role = .stopped
            return .exit
        }
    }
}
