/// Counters of one `Replicator`, for logs now and metrics later.
public struct ReplicatorStats: Sendable, Equatable {
    /// Last transaction sealed locally.
    public var txid: UInt64 = 0
    /// The newest transaction the store confirmed (0 until an upload in this run).
    public var storedTXID: UInt64 = 0
    /// Level-0 files sealed.
    public var segmentsSealed = 0
    /// Snapshots written.
    public var snapshotsWritten = 0
    /// Files the store confirmed.
    public var filesUploaded = 0
    /// Bytes the store confirmed.
    public var bytesUploaded: Int64 = 0
    /// Times Baton stepped aside for another process's checkpoint.
    public var checkpointYields = 0
    /// Times continuity was lost and the whole database was compared.
    public var resyncs = 0
    /// Checkpoints Baton ran itself.
    public var checkpoints = 0
    /// Files written by compaction.
    public var compactions = 0
    /// Files deleted by retention.
    public var filesDeleted = 0

    /// Zeros.
    public init() {}
}
