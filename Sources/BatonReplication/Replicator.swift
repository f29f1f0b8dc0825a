import BatonCore
import BatonSQLite
import BatonStore
import BatonSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Continuous backup of one database to one store: follows the WAL, seals
/// batches of transactions into level-0 LTX files, writes snapshots, runs
/// Baton's checkpoints and uploads everything in order.
///
/// Keeps the checksum of every page of the state it last sealed
/// (`PageChecksumTable`), so each file carries verified pre- and post-apply
/// database checksums. Not thread-safe: drive it from one task (its async
/// methods run their file and SQLite work on `BlockingWork`'s threads and
/// await it, so it still has one user at a time).
public final class Replicator {
    let databasePath: String
    let store: any ObjectStore
    let options: ReplicatorOptions
    let log: (String) -> Void
    let session: DatabaseSession
    let follower: WALFollower
    let pending: PendingSegments
    var spool: SegmentSpool!
    /// Streams each commit to standbys when a tap is attached.
    var streaming: StreamingSink?
    /// Where the follower puts captured pages: the streaming sink when there is one, else the spool.
    var captureSink: any WALCaptureSink { streaming ?? spool }
    var pageSize: UInt32 = 0
    var table = PageChecksumTable()
    var lastSnapshotMilliseconds: Int64 = 0
    /// The transaction the newest snapshot in the store shows (nil: none known).
    var lastSnapshotTXID: UInt64?
    /// Uploads, compaction and retention (driven by `step`, or by its own task).
    public let shipper: ReplicaShipper
    /// What happened on the capture side so far.
    var ownStats = ReplicatorStats()
    /// Set before `start` by a promoted standby: the transactions it applied
    /// lately, so that the ones the store lacks are sealed as one file
    /// instead of a snapshot (see `Replicator+CopyTail`).
    public var copyTail: RecentTransactions?
    /// Set before `start` by a promoted standby: the checksum of every
    /// page of the database file as its copy kept them, apply by apply, so
    /// that `start` need not read the whole file again to learn them. Used
    /// only while the WAL adds nothing to the file and the page count agrees.
    public var knownFileTable: PageChecksumTable?

    /// What has happened so far.
    public var stats: ReplicatorStats {
        var stats = ownStats
        shipper.addCounters(to: &stats)
        return stats
    }

    /// Opens the database (checking it is usable) and the local state directory.
    public init(
        databasePath: String, store: any ObjectStore, options: ReplicatorOptions = .init(),
        log: @escaping (String) -> Void = { _ in }
    ) throws {
        self.databasePath = databasePath
        self.store = store
        self.options = options
        self.log = log
        session = try DatabaseSession(
            path: databasePath, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds, enableWAL: options.enableWAL)
        follower = WALFollower(session: session)
        pending = try PendingSegments(
            directory: (options.stateDirectory ?? databasePath + "-baton") + "/pending",
            keepUploadedBytes: options.compactionIntervalsMilliseconds.isEmpty ? 0 : options.keptUploadBytes)
        shipper = ReplicaShipper(store: store, pending: pending, options: options, log: log)
    }

    /// Streams every transaction captured from now on to `tap` (call after `start`).
    public func attach(tap: any TransactionTap) {
        streaming = StreamingSink(
            inner: spool, tap: tap, pageSize: pageSize, epoch: options.epoch, txid: ownStats.txid, table: table,
            maxTransactionBytes: options.maxStreamedTransactionBytes)
    }

    /// Whether `start` got as far as following the WAL (before that there is nothing to capture or seal).
    public var isStarted: Bool { spool != nil }

    /// The last transaction captured and sealed locally (uploaded or waiting to be).
    public var sealedTXID: UInt64 { ownStats.txid }

    /// The database checksum after `sealedTXID`.
    public var sealedChecksum: UInt64 { table.databaseChecksum }

    /// Sealed files not yet confirmed by the store.
    public func pendingFiles() throws -> [LTXFileInfo] { try pending.files() }

    /// Closes the database connections.
    public func close() {
        session.close()
    }

    /// The current time in milliseconds since the Unix epoch.
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// One round: step aside for a waiting checkpoint, capture new commits,
    /// seal the batch when its window is over, checkpoint, snapshot when due,
    /// upload. With `flushAll` the batch is sealed whatever its age.
    public func step(flushAll: Bool = false) async throws {
        try await BlockingWork.runExclusive { try self.stepLocally(flushAll: flushAll) }
        try await upload()
    }

    /// `step` without the upload, for a caller that ships in another task (`shipper`).
    public func stepLocally(flushAll: Bool = false) throws {
        try checkDatabaseIsStillTheSameFile()
        if let yielded = try follower.yieldToWaitingCheckpoint(
            maxWaitMilliseconds: options.maxYieldMilliseconds, captureSink)
        {
            ownStats.checkpointYields += 1
            try handle(yielded)
        }
        try handle(try follower.capture(captureSink))
        let now = Replicator.nowMilliseconds()
        if !spool.isEmpty, flushAll || now - spool.firstCommitMilliseconds >= Int64(options.batchWindowMilliseconds) {
            try seal()
        }
        if follower.framesSinceCheckpoint >= options.checkpointThresholdPages {
            let result = try follower.checkpoint(truncateAboveBytes: options.truncateThresholdBytes, captureSink) {
                if !spool.isEmpty { try seal() }
            }
            ownStats.checkpoints += 1
            try handle(result)
        }
        if now - lastSnapshotMilliseconds >= options.snapshotIntervalSeconds * 1000 {
            try scheduledSnapshot()
        }
    }

    /// Whether another process runs a checkpoint that may be waiting for
    /// this replicator's read transaction (the next `stepLocally` steps aside
    /// for it). SQLite tells nobody when a checkpoint starts waiting: a
    /// caller that steps only on WAL changes asks this on a short timer.
    public var isCheckpointWaiting: Bool {
        guard isStarted, session.isReading, let probe = session.probe else { return false }
        return probe.isBlockingCheckpointInProgress
    }

    /// Milliseconds until `stepLocally` has timed work (sealing the open
    /// batch at the end of its window, a scheduled snapshot); nil before
    /// `start`. Without new commits or a waiting checkpoint, a step
    /// before then does nothing.
    public var millisecondsUntilDue: Int64? {
        guard isStarted else { return nil }
        let now = Replicator.nowMilliseconds()
        var due = lastSnapshotMilliseconds + options.snapshotIntervalSeconds * 1000 - now
        if !spool.isEmpty {
            due = min(due, spool.firstCommitMilliseconds + Int64(options.batchWindowMilliseconds) - now)
        }
        return max(due, 0)
    }

    /// Captures the commits in the WAL now, without sealing or uploading:
    /// for a caller waiting to learn the TXID of a commit it just made.
    public func capture() throws {
        try checkDatabaseIsStillTheSameFile()
        try handle(try follower.capture(captureSink))
    }

    /// Refuses to go on when the database path now names another file (the
    /// database was deleted or replaced, e.g. restored over): Baton's
    /// connections would follow the old file while the WAL path shows the new one.
    func checkDatabaseIsStillTheSameFile() throws {
        guard let open = session.databaseFile else { return }
        var opened = stat()
        guard fstat(open.descriptor, &opened) == 0 else { return }
        guard let current = FileSystem.attributes(databasePath), current.inode == UInt64(opened.st_ino) else {
            throw BatonError(
                .unsupportedDatabase,
                "\(databasePath) was deleted or replaced while Baton was replicating it; restart Baton")
        }
    }

    /// Uploads sealed files, compacts and retains; a store failure is reported and retried on the next round.
    func upload() async throws {
        try await shipper.ship(now: Replicator.nowMilliseconds())
    }

    func handle(_ result: WALFollower.CaptureResult) throws {
        guard case .continuityLost(let reason) = result else { return }
        log("\(databasePath): \(reason); comparing the whole database with the replica")
        try resync()
    }
}
