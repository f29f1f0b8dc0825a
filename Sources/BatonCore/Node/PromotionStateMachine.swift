/// Becoming the holder of a group of databases after taking the lease:
/// stop applying the old holder's stream, then for each database decide
/// from its local copy and the store whether the copy is kept, caught up
/// from the store, or kept aside (it is not a state of the store's history)
/// and rebuilt; start replicating every database under the new epoch; start
/// the app only once every database is at the latest state, and wait until
/// it is ready. Pure: the driver performs the actions and reports events.
///
/// The safety argument: a copy is kept only when it is at or past the
/// store's newest transaction *and* was written by an epoch at least as new
/// as the store's newest file (so it came from the newest writer's stream);
/// anything else is replaced by the store's state, and a copy with writes
/// the store never saw is kept aside, not overwritten.
public struct PromotionStateMachine: Sendable {
    /// What one database's local copy is.
    public struct LocalCopy: Equatable, Sendable {
        /// Its TXID when known (a standby copy at a confirmed position).
        public var txid: UInt64?
        /// The epoch that wrote its last transaction (0: unknown).
        public var epoch: UInt64
        /// Whether the file exists with content (it could be kept aside).
        public var exists: Bool

        /// A copy at `txid` (nil: unknown) written by `epoch`.
        public init(txid: UInt64?, epoch: UInt64, exists: Bool) {
            self.txid = txid
            self.epoch = epoch
            self.exists = exists
        }
    }

    /// The newest file of one database in the store.
    public struct StoreNewest: Equatable, Sendable {
        /// Its last transaction.
        public var txid: UInt64
        /// The epoch that wrote it.
        public var epoch: UInt64

        /// The store's newest transaction `txid`, written by `epoch`.
        public init(txid: UInt64, epoch: UInt64) {
            self.txid = txid
            self.epoch = epoch
        }
    }

    /// What was done with one database's copy.
    public enum Decision: Equatable, Sendable {
        /// The copy was kept at this TXID (the store has nothing newer, or nothing at all).
        case kept(txid: UInt64)
        /// The copy was replaced by the store's newest state; `keptAside` when the old one had writes the store lacks.
        case restored(keptAside: Bool)
    }

    /// What happened, reported by the driver.
    public enum Event: Equatable, Sendable {
        /// The stream from the old holder is stopped; the copies no longer change.
        case followingStopped
        /// One database's copy and store were looked at (`store` nil: the store holds nothing for it).
        case inspected(database: String, local: LocalCopy, store: StoreNewest?)
        /// Whether the copy's checksum is a state of the store's history.
        case historyChecked(database: String, contains: Bool)
        /// The copy now holds the store's newest state.
        case restored(database: String)
        /// Every database replicates under the new epoch.
        case replicating
        /// The app answers its ready URL (or was started, without one).
        case appReady
        /// A step failed (the store could not be read, the app would not start).
        case failed(reason: String)
        /// The lease can no longer be proven held.
        case leaseLost
    }

    /// Work for the driver.
    public enum Action: Equatable, Sendable {
        case none
        /// Stop following the old holder (report `followingStopped`).
        case stopFollowing
        /// Look at a database's copy and its newest file in the store (report `inspected`).
        case inspect(database: String)
        /// Look the copy's checksum up in the store's history (report `historyChecked`).
        case checkHistory(database: String)
        /// Replace the copy with the store's newest state, first keeping it aside if asked (report `restored`).
        case restore(database: String, keepAside: Bool)
        /// Start replicating each database after the given TXID (0: the state the store gave) (report `replicating`).
        case startReplicating([String: UInt64])
        /// Start the app and wait until it is ready (report `appReady`).
        case startApp
        /// The promotion is over.
        case end(Outcome)
    }

    /// How a promotion ended.
    public enum Outcome: Equatable, Sendable {
        /// Every database is held and replicated, and the app is ready: serve.
        case serving([String: Decision])
        /// A step failed: give the lease up (fence).
        case failed(reason: String)
        /// The lease was lost meanwhile: fence.
        case leaseLost
    }

    private enum State: Equatable, Sendable {
        case starting
        case stoppingFollower
        case inspecting(Int)
        case checkingHistory(Int)
        case restoring(Int, keptAside: Bool)
        case startingReplication
        case startingApp
        case ended(Outcome)
    }

    private var state: State = .starting
    private let databases: [String]
    private var decisions: [String: Decision] = [:]

    /// A promotion of the group of `databases` (at least one).
    public init(databases: [String]) {
        precondition(!databases.isEmpty, "a group has at least one database")
        self.databases = databases
    }

    /// The outcome once the promotion is over.
    public var outcome: Outcome? {
        if case .ended(let outcome) = state { return outcome }
        return nil
    }

    /// Starts the promotion.
    public mutating func start() -> Action {
        guard state == .starting else { return invalid("start") }
        state = .stoppingFollower
        return .stopFollowing
    }

    /// Feeds one event.
    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .failed(let reason):
            return end(.failed(reason: reason))
        case .leaseLost:
            return end(.leaseLost)
        case .followingStopped:
            guard state == .stoppingFollower else { return invalid("followingStopped") }
            state = .inspecting(0)
            return .inspect(database: databases[0])
        case .inspected(let database, let local, let store):
            guard case .inspecting(let index) = state, databases[index] == database else {
                return invalid("inspected(\(database))")
            }
            guard let store else {
                // Nothing in the store yet: the copy (or a new empty database) is the start.
                return decided(index, .kept(txid: local.txid ?? 0))
            }
            if let txid = local.txid, txid >= store.txid, local.epoch >= store.epoch {
                // The copy came from the newest writer's stream (or is its own) and is not behind the store.
                return decided(index, .kept(txid: txid))
            }
            guard local.exists else {
                state = .restoring(index, keptAside: false)
                return .restore(database: database, keepAside: false)
            }
            state = .checkingHistory(index)
            return .checkHistory(database: database)
        case .historyChecked(let database, let contains):
            guard case .checkingHistory(let index) = state, databases[index] == database else {
                return invalid("historyChecked(\(database))")
            }
            state = .restoring(index, keptAside: !contains)
            return .restore(database: database, keepAside: !contains)
        case .restored(let database):
            guard case .restoring(let index, let keptAside) = state, databases[index] == database else {
                return invalid("restored(\(database))")
            }
            return decided(index, .restored(keptAside: keptAside))
        case .replicating:
            guard state == .startingReplication else { return invalid("replicating") }
            state = .startingApp
            return .startApp
        case .appReady:
            guard state == .startingApp else { return invalid("appReady") }
            return end(.serving(decisions))
        }
    }

    /// Records `decision` for the database at `index` and moves to the next one,
    /// or starts replicating once every database is decided.
    private mutating func decided(_ index: Int, _ decision: Decision) -> Action {
        decisions[databases[index]] = decision
        if index + 1 < databases.count {
            state = .inspecting(index + 1)
            return .inspect(database: databases[index + 1])
        }
        state = .startingReplication
        var after: [String: UInt64] = [:]
        for database in databases {
            if case .kept(let txid) = decisions[database] { after[database] = txid } else { after[database] = 0 }
        }
        return .startReplicating(after)
    }

    private mutating func end(_ outcome: Outcome) -> Action {
        if case .ended = state { return .none }  // already over; a late failure changes nothing
        state = .ended(outcome)
        return .end(outcome)
    }

    private func invalid(_ event: String) -> Action {
        assertionFailure("promotion: \(event) is impossible in state \(state)")
        return .none
    }
}
