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
        /// A step of becoming holder at `epoch` (the lease is ours): perform it and report
        /// its events through `promotion(_:)`; after `.end`, report `promotionEnded`.
        case promotion(PromotionStateMachine.Action)
        /// Follow this holder's stream.
        case follow(holder: String, epoch: UInt64)
        /// Stop the app at once and stop writing anything under `epoch` (report `steppedDown`).
        case fence(epoch: UInt64)
        /// A step of the hand-over in progress: perform it and report its
        /// events through `handover(_:now:)`; after `.end`, report `handoverEnded`.
        case handover(HandoverStateMachine.Action)
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

        /// How long a hand-over waits for in-flight requests and for a standby.
        public var handover: HandoverStateMachine.Settings

        /// Settings; the defaults suit a 10 s lease.
        public init(
            heartbeatTimeoutMilliseconds: Int64 = 2000, leaseRetryMilliseconds: Int64 = 500,
            handover: HandoverStateMachine.Settings = .init(drainMilliseconds: 7500, confirmMilliseconds: 10_000)
        ) {
            self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
            self.leaseRetryMilliseconds = leaseRetryMilliseconds
            self.handover = handover
        }
    }

    /// The current role.
    public var role: Role {
        switch state {
        case .starting: return .starting
        case .standby: return .standby
        case .promoting: return .promoting
        case .holder: return .holder
        case .handingOver: return .handingOver
        case .steppingDown: return .steppingDown
        case .stopped: return .stopped
        }
    }

    /// Our epoch while holding (or the one just held), else the newest seen.
    public private(set) var epoch: UInt64 = 0
    /// The holder we follow.
    public private(set) var holder: String?
    /// Counts for metrics.
    public private(set) var failovers = 0
    /// Completed hand-overs away from this node.
    public private(set) var handoffs = 0

    /// Each role with the data only it uses.
    private enum State: Sendable {
        case starting(LeaseWatch)
        case standby(LeaseWatch)
        case promoting(PromotionStateMachine)
        case holder
        case handingOver(HandoverStateMachine)
        case steppingDown
        case stopped
    }

    /// What a node without the baton keeps to decide when to look at the lease.
    private struct LeaseWatch: Sendable {
        var lastContact: Int64
        /// When the lease was last tried (nil: try at the next chance).
        var lastAttempt: Int64?
        /// After handing the baton over we must not take it back before the target had its chance.
        var quietUntil: Int64 = .min
        /// The holder offered us the baton (it released the lease for a hand-over).
        var offered = false
    }

    private var state: State
    private let name: String
    private let peers: [String]
    private let databases: [String]
    private let timing: Timing
    private var shuttingDown = false

    /// A machine for the node called `name` in a cluster with `peers`,
    /// holding the group of `databases`, created at `now`.
    public init(name: String, peers: [String], databases: [String], timing: Timing = .init(), now: Int64) {
        self.name = name
        self.peers = peers
        self.databases = databases
        self.timing = timing
        state = .starting(LeaseWatch(lastContact: now))
    }

    private var watch: LeaseWatch? {
        switch state {
        case .starting(let watch), .standby(let watch): return watch
        default: return nil
        }
    }

    private mutating func update(_ watch: LeaseWatch) {
        switch state {
        case .starting: state = .starting(watch)
        case .standby: state = .standby(watch)
        default: preconditionFailure("no lease watch in state \(state)")
        }
    }

    /// The node starts: look at the lease.
    public mutating func start(now: Int64) -> Action {
        guard var watch else { return .none }
        watch.lastAttempt = now
        state = .starting(watch)
        return .tryAcquire
    }

    /// A `tryAcquire` found the lease held by `holder` at `epoch`.
    public mutating func leaseHeld(holder: String, epoch: UInt64, now: Int64) -> Action {
        guard var watch else { return .none }
        let changed = holder != self.holder || epoch != self.epoch
        self.epoch = max(self.epoch, epoch)
        if holder == name {
            // Our own record from before a restart: it must expire before anyone (us included) writes.
            self.holder = nil
            state = .standby(watch)
            return .none
        }
        self.holder = holder
        if changed { watch.lastContact = now }
        state = .standby(watch)
        return changed ? .follow(holder: holder, epoch: epoch) : .none
    }

    /// A `tryAcquire` took the lease.
    public mutating func acquired(epoch: UInt64, now: Int64) -> Action {
        guard let watch else { return .none }
        if case .standby = state, holder != nil, !watch.offered { failovers += 1 }
        self.epoch = epoch
        holder = name
        var promotion = PromotionStateMachine(databases: databases)
        let action = promotion.start()
        state = .promoting(promotion)
        return .promotion(action)
    }

    /// Something happened while becoming holder.
    public mutating func promotion(_ event: PromotionStateMachine.Event) -> Action {
        guard case .promoting(var promotion) = state else { return .none }
        let action = promotion.handle(event)
        state = .promoting(promotion)
        return action == .none ? .none : .promotion(action)
    }

    /// The driver has acted on the promotion's end: serve as holder (or hand
    /// over at once when shutting down), or fence when it failed.
    public mutating func promotionEnded(now: Int64) -> Action {
        guard case .promoting(let promotion) = state, let outcome = promotion.outcome else {
            assertionFailure("promotionEnded in state \(state)")
            return .none
        }
        guard case .serving = outcome else {
            state = .steppingDown
            return .fence(epoch: epoch)
        }
        state = .holder
        if shuttingDown { return handOver(to: nil, now: now) }
        return .none
    }

    /// The standby heard from the holder (a stream response or heartbeat).
    public mutating func contact(holderEpoch: UInt64, now: Int64) {
        guard case .standby(var watch) = state else { return }
        watch.lastContact = now
        epoch = max(epoch, holderEpoch)
        state = .standby(watch)
    }

    /// Time passes.
    public mutating func tick(now: Int64) -> Action {
        guard var watch, !shuttingDown else { return .none }
        if now < watch.quietUntil {
            guard holder == nil, retryDue(watch, now) else { return .none }
            watch.lastAttempt = now
            update(watch)
            return .readLease
        }
        let silent = holder == nil || watch.offered || now - watch.lastContact >= timing.heartbeatTimeoutMilliseconds
        guard silent, retryDue(watch, now) || watch.offered else { return .none }
        watch.lastAttempt = now
        update(watch)
        return .tryAcquire
    }

    /// When `tick` may next have something to do (nil: nothing is due
    /// until an event arrives). A driver may sleep until then instead of
    /// polling; events (contact, commands) only ever move it later or come
    /// with their own wake-up.
    public func nextTick(now: Int64) -> Int64? {
        guard let watch, !shuttingDown else { return nil }
        let retryAt = watch.lastAttempt.map { $0 + timing.leaseRetryMilliseconds } ?? now
        if now < watch.quietUntil {
            return holder == nil ? max(retryAt, now) : watch.quietUntil
        }
        if watch.offered { return now }
        let silentAt = holder == nil ? now : watch.lastContact + timing.heartbeatTimeoutMilliseconds
        return max(silentAt, retryAt, now)
    }

    private func retryDue(_ watch: LeaseWatch, _ now: Int64) -> Bool {
        guard let lastAttempt = watch.lastAttempt else { return true }
        return now - lastAttempt >= timing.leaseRetryMilliseconds
    }

    /// The holder offers us the baton (it released the lease for a hand-over).
    public mutating func takeoverOffered(now: Int64) -> Action {
        guard case .standby(var watch) = state, !shuttingDown else { return .none }
        watch.offered = true
        watch.lastAttempt = now
        state = .standby(watch)
        return .tryAcquire
    }

    /// The lease client says we may no longer write (renewal failed past the deadline, or someone else took it).
    public mutating func leaseLost(now: Int64) -> Action {
        switch state {
        case .promoting:
            return promotion(.leaseLost)
        case .holder:
            state = .steppingDown
            return .fence(epoch: epoch)
        case .handingOver:
            // Before the release that ends it with `.leaseLost`; after it, losing the lease is the point.
            return handover(.leaseLost, now: now)
        default:
            return .none
        }
    }

    /// The app is stopped and nothing more is written under our epoch.
    public mutating func steppedDown(now: Int64) -> Action {
        guard case .steppingDown = state else { return .none }
        return becomeStandby(now: now, quiet: false)
    }

    /// Leaves the holder's roles: exit when shutting down, else a standby
    /// that looks for the new holder (only reading the lease while `quiet`).
    private mutating func becomeStandby(now: Int64, quiet: Bool) -> Action {
        holder = nil
        if shuttingDown {
            state = .stopped
            return .exit
        }
        var watch = LeaseWatch(lastContact: now, lastAttempt: now)
        guard quiet else {
            state = .standby(watch)
            return .none
        }
        watch.quietUntil = now + timing.heartbeatTimeoutMilliseconds
        state = .standby(watch)
        return .readLease
    }

    /// An operator (or SIGTERM) asks the holder to pass the baton.
    public mutating func handoffRequested(to target: String?, now: Int64) -> Action {
        guard case .holder = state else { return .none }
        return handOver(to: target, now: now)
    }

    private mutating func handOver(to target: String?, now: Int64) -> Action {
        var handover = HandoverStateMachine(
            candidates: target.map { [$0] } ?? peers, databases: databases, settings: timing.handover)
        let action = handover.start(now: now)
        state = .handingOver(handover)
        return .handover(action)
    }

    /// Something happened during the hand-over (ignored once it is over: a late timer or position).
    public mutating func handover(_ event: HandoverStateMachine.Event, now: Int64) -> Action {
        guard case .handingOver(var handover) = state else { return .none }
        let action = handover.handle(event, now: now)
        state = .handingOver(handover)
        return action == .none ? .none : .handover(action)
    }

    /// The driver has acted on the hand-over's end: a standby that follows
    /// the new holder, a holder that serves again, or fencing.
    public mutating func handoverEnded(now: Int64) -> Action {
        guard case .handingOver(let handover) = state, let outcome = handover.outcome else {
            assertionFailure("handoverEnded in state \(state)")
            return .none
        }
        switch outcome {
        case .handedOver:
            handoffs += 1
            return becomeStandby(now: now, quiet: true)
        case .failed:
            if shuttingDown {
                // Shutting down anyway: the lease was not released; it expires on its own.
                state = .steppingDown
                return .fence(epoch: epoch)
            }
            state = .holder
            return .resumeHolding(epoch: epoch)
        case .leaseLost:
            state = .steppingDown
            return .fence(epoch: epoch)
        }
    }

    /// SIGTERM: a holder hands over first, anything else just stops.
    public mutating func shutdownRequested(now: Int64) -> Action {
        guard !shuttingDown else { return .none }
        shuttingDown = true
        switch state {
        case .holder:
            return handOver(to: nil, now: now)
        case .promoting, .handingOver, .steppingDown:
            // Finishes what it is doing first; `promotionEnded`/`handoverEnded`/`steppedDown` then exit.
            return .none
        case .starting, .standby, .stopped:
            state = .stopped
            return .exit
        }
    }
}
