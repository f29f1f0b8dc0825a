import BatonCore
import BatonStore
import Synchronization

/// The store side of replication: sends sealed files from the pending
/// directory in transaction order (deleting each only once the store has
/// it), then runs compaction and retention. The replicator seals into the
/// same directory meanwhile (each file appears whole, by rename), so an HA
/// holder can ship in its own task and a slow store never delays capture
/// or the standby's stream. One task at a time drives it.
public final class ReplicaShipper: @unchecked Sendable {
    let store: any ObjectStore
    let pending: PendingSegments
    let options: ReplicatorOptions
    let log: (String) -> Void
    /// Levels with new input files since they last ran: compaction lists the
    /// store only for those, so an idle database costs no requests.
    var levelsWithNewInputs: Set<Int> = [1]
    /// When each compaction level last ran.
    var lastCompactionMilliseconds: [Int: Int64] = [:]
    /// Level-0 files uploaded since level 1 last ran (it runs early past `compactionFileThreshold`).
    var levelZeroSinceCompaction = 0
    /// When retention last ran.
    var lastRetentionMilliseconds: Int64 = 0
    /// The newest transaction each compaction level was seen to reach (its
    /// next listing starts there).
    var compactedThrough: [Int: UInt64] = [:]
    let counters = Mutex(Counters())
    /// Publishes the uploaded files' headers for restores elsewhere.
    let headers: HeaderPublisher
    /// Whether this epoch's start is marked in the store (HA: before its first file).
    var epochMarked = false

    /// What has been shipped (read from any task).
    struct Counters {
        var filesUploaded = 0
        var bytesUploaded: Int64 = 0
        var storedTXID: UInt64 = 0
        var compactions = 0
        var filesDeleted = 0
    }

    init(store: any ObjectStore, pending: PendingSegments, options: ReplicatorOptions, log: @escaping (String) -> Void)
    {
        self.store = store
        self.pending = pending
        self.options = options
        self.log = log
        headers = HeaderPublisher(store: store, epoch: options.epoch, log: log)
    }

    /// The newest transaction the store confirmed in this run (0 before the first upload).
    public var storedTXID: UInt64 { counters.withLock { $0.storedTXID } }

    /// Uploads what is sealed, then compacts and applies retention when due.
    public func ship(now: Int64) async throws {
        if try await sendPending(now: now) > 0 { levelsWithNewInputs.insert(1) }
        try await compactAndRetain(now: now)
        await headers.publish(now: now)
    }

    /// Publishes the headers of every file uploaded so far (before stopping).
    public func publishHeaders() async { await headers.publish(now: Replicator.nowMilliseconds(), force: true) }

    /// `ship(now:)` at the current time.
    public func ship() async throws { try await ship(now: Replicator.nowMilliseconds()) }

    /// Sends the sealed files waiting locally, in order, and counts them.
    func sendPending(now: Int64 = Replicator.nowMilliseconds()) async throws -> Int {
        if options.epoch > 0, !epochMarked, let start = EpochStart.first(of: try pending.files()) {
            try await EpochMarkers.mark(EpochStart(epoch: options.epoch, txid: start), in: store)
            epochMarked = true
        }
        let sent = try await pending.upload(to: store)
        headers.add(sent.headers, now: now)
        levelZeroSinceCompaction += sent.levelZero
        counters.withLock { counters in
            counters.filesUploaded += sent.files
            counters.bytesUploaded += sent.bytes
            counters.storedTXID = max(counters.storedTXID, sent.maxTXID)
        }
        return sent.files
    }

    /// Adds the shipping counters to `stats`.
    func addCounters(to stats: inout ReplicatorStats) {
        counters.withLock { counters in
            stats.filesUploaded = counters.filesUploaded
            stats.bytesUploaded = counters.bytesUploaded
            stats.storedTXID = counters.storedTXID
            stats.compactions = counters.compactions
            stats.filesDeleted = counters.filesDeleted
        }
    }
}
