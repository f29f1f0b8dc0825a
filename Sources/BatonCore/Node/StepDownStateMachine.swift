/// Fencing: a holder that can no longer prove it holds the lease (or whose
/// promotion or hand-over failed) stops every write under its epoch and
/// becomes a standby. Kill the app at once; stop renewing and uploading and
/// wait until no upload is in flight; then, database by database, seal what
/// the app committed locally (never uploaded now: the store may belong to a
/// newer holder), keep the sealed files the store never confirmed aside
/// instead of deleting them, and adopt the file as a standby copy at the
/// sealed position (or at an unknown one when sealing failed, so it is
/// located or rebuilt later). Pure: the driver performs the actions and
/// reports events.
///
/// The safety argument: nothing is uploaded after `stopShipping`, and
/// the app is dead before anything else happens, so no write of this epoch
/// can reach the store or a client once fencing began; nothing a client may
/// have been told is committed is deleted (it stays in the file, or in the
/// kept-aside files).
public struct StepDownStateMachine: Sendable {
    /// Work for the driver.
    public enum Action: Equatable, Sendable {
        case none
        /// Kill the app at once (report `appKilled`).
        case killApp
        /// Stop renewing the lease and uploading; wait until no upload is in flight (report `shippingStopped`).
        case stopShipping
        /// Capture and seal what the app wrote to the database locally, without uploading (report `sealed`).
        case seal(database: String)
        /// Move its sealed files the store never confirmed aside (report `keptAside`).
        case keepUnconfirmedAside(database: String)
        /// Make the file a standby copy, at the sealed position when known (report `adopted`).
        case adoptCopy(database: String, positionKnown: Bool)
        /// Every database is a standby copy; fencing is over.
        case end
    }

    /// What happened, reported by the driver.
    public enum Event: Equatable, Sendable {
        /// The app is dead.
        case appKilled
        /// No renewal and no upload runs any more.
        case shippingStopped
        /// The database's captured transactions are sealed (`positionKnown`
        /// false when that failed); `unconfirmedFiles` sealed files wait for a store that will never take them.
        case sealed(database: String, positionKnown: Bool, unconfirmedFiles: Int)
        /// Its unconfirmed files are kept aside.
        case keptAside(database: String)
        /// It is a standby copy now.
        case adopted(database: String)
    }

    private enum State: Equatable, Sendable {
        case starting
        case killingApp
        case stoppingShipping
        case sealing(Int)
        case keepingAside(Int, positionKnown: Bool)
        case adopting(Int)
        case ended
    }

    private var state: State = .starting
    private let databases: [String]

    /// Fencing the group of `databases` (at least one).
    public init(databases: [String]) {
        precondition(!databases.isEmpty, "a group has at least one database")
        self.databases = databases
    }

    /// Whether fencing is over.
    public var isOver: Bool { state == .ended }

    /// Starts fencing.
    public mutating func start() -> Action {
        guard state == .starting else { return invalid("start") }
        state = .killingApp
        return .killApp
    }

    /// Feeds one event.
    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .appKilled:
            guard state == .killingApp else { return invalid("appKilled") }
            state = .stoppingShipping
            return .stopShipping
        case .shippingStopped:
            guard state == .stoppingShipping else { return invalid("shippingStopped") }
            state = .sealing(0)
            return .seal(database: databases[0])
        case .sealed(let database, let positionKnown, let unconfirmed):
            guard case .sealing(let index) = state, databases[index] == database else {
                return invalid("sealed(\(database))")
            }
            if unconfirmed > 0 {
                state = .keepingAside(index, positionKnown: positionKnown)
                return .keepUnconfirmedAside(database: database)
            }
            state = .adopting(index)
            return .adoptCopy(database: database, positionKnown: positionKnown)
        case .keptAside(let database):
            guard case .keepingAside(let index, let positionKnown) = state, databases[index] == database else {
                return invalid("keptAside(\(database))")
            }
            state = .adopting(index)
            return .adoptCopy(database: database, positionKnown: positionKnown)
        case .adopted(let database):
            guard case .adopting(let index) = state, databases[index] == database else {
                return invalid("adopted(\(database))")
            }
            guard index + 1 < databases.count else {
                state = .ended
                return .end
            }
            state = .sealing(index + 1)
            return .seal(database: databases[index + 1])
        }
    }

    private func invalid(_ event: String) -> Action {
        assertionFailure("step-down: \(event) is impossible in state \(state)")
        return .none
    }
}
