import BatonCore
import BatonReplication
import BatonSystem

extension NodeDriver {
    /// How often a holder looks at each database's checkpoint lock
    /// (`Replicator.isCheckpointWaiting`, one `fcntl`): SQLite tells no one
    /// when an app's checkpoint starts waiting for Baton's read transaction,
    /// so this is the one thing the holder looks at on a timer. A holder's
    /// driver waits at most this long for a signal (a changed WAL, a
    /// capture, a command) before its next round, and steps every database
    /// this often where file changes cannot be watched.
    static let checkpointProbeMilliseconds: Int64 = 20

    /// The longest a holder goes without stepping a database whose WAL
    /// seems unchanged: the safety net under the watcher (a change it could
    /// not see, e.g. on a network file system).
    static let stepSafetyNetMilliseconds: Int64 = 1000

    /// Watches every database's `-wal` for the node's life; a change wakes
    /// a holder's driver (a standby's copies do not write a WAL). Where
    /// files cannot be watched, the holder steps every database on its poll.
    func startWatchingWAL() {
        let node = self.node
        let databases = node.databases
        do {
            walWatcher = try FileChangeWatcher(paths: databases.map { $0.path + "-wal" }) { index in
                databases[index].walChanges.signal()
                let role = node.snapshot.role
                if role == .holder || role == .handingOver { node.driverWake.signal() }
            }
        } catch {
            log(
                "cannot watch the WAL files (\(error)); the holder reads them every \(NodeDriver.checkpointProbeMilliseconds) ms instead"
            )
        }
    }

    /// Whether the holder's round should step `database` now: its WAL
    /// changed since its last step (always, without a watcher), a
    /// checkpoint waits for it, its open batch or snapshot fell due, or the
    /// safety net's time passed.
    func stepDue(_ database: NodeDatabase, _ replicator: Replicator, changes: UInt64) -> Bool {
        if walWatcher == nil || walSeen[database.name] != changes { return true }
        if replicator.isCheckpointWaiting { return true }
        if let due = replicator.millisecondsUntilDue, due == 0 { return true }
        guard let last = lastStep[database.name] else { return true }
        return clock.now() - last >= NodeDriver.stepSafetyNetMilliseconds
    }
}
