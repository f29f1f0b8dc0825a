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
    /// How long Baton's connections wait on SQLite locks.
    public var busyTimeoutMilliseconds: Int32 = 5000

    /// The defaults.
    public init() {}
}
