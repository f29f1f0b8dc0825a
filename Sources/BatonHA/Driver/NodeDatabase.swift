import BatonCore
import BatonReplication
import BatonStore
import BatonSystem
import Synchronization

/// One database of the node's group: its file, its replica in the store
/// (`<store>/<name>/` for a group, the store's root for a single
/// `database:`), its stream to standbys, and the state the API reads about
/// it. The driver owns the work on it (replicator or standby copy); this
/// holds only what is shared with the HTTP side.
final class NodeDatabase: Sendable {
    /// Its name in the group (the `db` parameter of `/stream` and the relay).
    let name: String
    /// The database file.
    let path: String
    /// Its replica.
    let store: any ObjectStore
    /// With `stores: [primary, second]`: what copies its replica to the second store (the holder runs it).
    let mirror: StoreMirror?
    /// Baton's files for it (sealed files awaiting upload, the standby's position).
    let stateDirectory: String
    /// The holder's recent transactions of this database, for standbys.
    let feed: TransactionFeed
    /// A standby's copy: held while the follower applies a batch and while
    /// the relay API reads it; true while the copy is a known commit state.
    let copyGate = Mutex(false)
    /// What the driver and the stream publish about it.
    let state = Mutex(Published())
    /// Signalled when its `-wal` file changed (the driver's WAL watcher): a
    /// holder captures and steps this database then, not on a timer.
    let walChanges: ChangeSignal

    /// What the API reads about one database.
    struct Published {
        /// The newest transaction here (captured on a holder, applied on a standby).
        var localTXID: UInt64?
        /// Standby: the holder's newest transaction, from its last stream answer.
        var holderTXID: UInt64?
        /// Standby: when the holder last answered this database's stream.
        var lastContact: Int64 = .min
        /// Standby: when the copy was last at the holder's newest transaction.
        var lastCaughtUp: Int64 = .min
        /// The first transaction of the holder's current epoch (fences older files in a restore).
        var epochStartTXID: UInt64 = 0
        /// Holder: the newest transaction the store confirmed in this run.
        var storedTXID: UInt64 = 0
        /// Holder: when (wall clock, ms) the store last confirmed a newer transaction.
        var storedMilliseconds: Int64?
    }

    init(
        member: DatabaseGroup.Member, store: any ObjectStore, secondStore: (any ObjectStore)? = nil,
        retention: RetentionPolicy = ReplicatorOptions().retentionPolicy, clock: any BatonClock,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        feed = TransactionFeed(clock: clock)
        walChanges = ChangeSignal(clock: clock)
        name = member.name
        path = member.path
        self.store = store
        stateDirectory = member.path + "-baton"
        mirror = secondStore.map { second in
            StoreMirror(
                source: store, target: second, scratchDirectory: member.path + "-baton/mirror",
                retention: retention, log: log)
        }
    }

    /// How many copies of this database are kept aside as diverged (`<file>.diverged-*`).
    func divergedCopies() -> Int {
        let folder = FileSystem.parent(of: path)
        let names = (try? FileSystem.list(folder)) ?? []
        return DivergedCopies.copies(of: String(path.split(separator: "/").last ?? ""), among: names).count
    }

    /// This database's status line for `/status`.
    /// `countDiverged`: list the folder for kept diverged copies (for
    /// `/status` and `/metrics`, not the health checks a balancer sends every second).
    func status(
        role: NodeStateMachine.Role, now: Int64, heartbeatTimeoutMilliseconds: Int64, countDiverged: Bool = false
    )
        -> NodeStatus.Database
    {
        let diverged = countDiverged ? divergedCopies() : nil
        return state.withLock { state in
            var lag: UInt64?
            var lagTime: Int64?
            if role == .standby, let local = state.localTXID, let remote = state.holderTXID {
                lag = remote > local ? remote - local : 0
                lagTime = lag == 0 ? 0 : (state.lastCaughtUp == .min ? nil : now - state.lastCaughtUp)
            }
            let streaming =
                role == .standby && state.lastContact != .min && now - state.lastContact < heartbeatTimeoutMilliseconds
            let holding = role == .holder || role == .handingOver || role == .promoting
            let second = holding ? mirror?.published : nil
            return NodeStatus.Database(
                name: name, path: path, txid: state.localTXID, lagTransactions: lag, lagMilliseconds: lagTime,
                streaming: streaming, storedTXID: holding ? state.storedTXID : nil, secondStoreTXID: second?.txid,
                secondStoreLagTransactions: second.map { state.storedTXID > $0.txid ? state.storedTXID - $0.txid : 0 },
                secondStoreCopiedMilliseconds: second?.copiedMilliseconds,
                storedMilliseconds: holding ? state.storedMilliseconds : nil, divergedCopies: diverged)
        }
    }
}
