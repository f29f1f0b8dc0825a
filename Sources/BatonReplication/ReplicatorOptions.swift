import BatonCore

/// Settings of `baton replicate`; every default is the safe one.
public struct ReplicatorOptions: Sendable {
    /// How often the WAL is polled (and other processes' checkpoints looked for).
    public var pollIntervalMilliseconds = 20
    /// Commits captured within this window go into one level-0 file.
    public var batchWindowMilliseconds = 1000
    /// Baton checkpoints (PASSIVE) once this many WAL frames are captured and sealed.
    public var checkpointThresholdPages = 1000
    /// Baton truncates the WAL once the file is larger than this.
    public var truncateThresholdBytes: Int64 = 500 * 1024 * 1024
    /// A full snapshot is written this often.
    public var snapshotIntervalSeconds: Int64 = 24 * 3600
    /// Switch a database in rollback-journal mode to WAL instead of refusing it.
    public var enableWAL = false
    /// Where sealed files wait for upload; default `<db>-baton` next to the database.
    public var stateDirectory: String?
    /// Longest Baton waits for another process's checkpoint after stepping aside.
    public var maxYieldMilliseconds = 60_000
    /// Compaction levels 1, 2, 3…: how often each merges the files one level
    /// down (default 30 s, 5 min, 1 h). Empty disables compaction.
    public var compactionIntervalsMilliseconds: [Int64] = [30_000, 300_000, 3_600_000]
    /// Level 1 also runs, before its interval, once this many level-0
    /// files were uploaded since it last ran (one write per file when each
    /// write waits for the store): a restore then fetches a few merged
    /// files instead of thousands.
    public var compactionFileThreshold = 256
    /// Uploaded level-0 files kept on local disk, up to this many bytes, as
    /// the next level-1 compaction's inputs (merged without downloads).
    public var keptUploadBytes: Int64 = 64 << 20
    /// Point-in-time history kept; older files no restore in the window needs are deleted.
    public var retentionMilliseconds: Int64 = 24 * 3_600_000
    /// Restore points kept before the window: one per hour, day, week for
    /// this many of the newest (`RetentionPolicy`); 0 keeps none.
    public var keepHourly = 0
    public var keepDaily = 0
    public var keepWeekly = 0

    /// The window and the tiers as one policy.
    public var retentionPolicy: RetentionPolicy {
        RetentionPolicy(
            pointInTimeMilliseconds: retentionMilliseconds, hourly: keepHourly, daily: keepDaily, weekly: keepWeekly)
    }
    /// How long Baton's connections wait on SQLite locks.
    public var busyTimeoutMilliseconds: Int32 = 5000

    /// The epoch written into every file (`nodeID`): the lease epoch of an HA
    /// holder, so a deposed holder's files are fenced at restore. 0 outside HA.
    public var epoch: UInt64 = 0
    /// Never number a new snapshot at or below this TXID: a promoted standby
    /// may already hold transactions the store never received.
    public var startAfterTXID: UInt64 = 0
    /// A transaction with more changed page bytes than this is not streamed
    /// to standbys from memory; they catch up from the store after it.
    public var maxStreamedTransactionBytes = 64 * 1024 * 1024

    /// Write the database checksum before and after each file (Baton's
    /// check that a file continues exactly the state before it, and that a
    /// copy is a state of the replica's history). Off, files carry the
    /// no-checksum flag as Litestream 0.5 writes them, so its
    /// `litestream restore` reads them too; Baton then verifies each file's
    /// own checksum and computes the database checksum itself on restore,
    /// and a restart writes a new snapshot (it cannot prove the database
    /// still matches the replica's newest file). The HA node needs them.
    public var databaseChecksums = true

    /// The defaults.
    public init() {}
}
