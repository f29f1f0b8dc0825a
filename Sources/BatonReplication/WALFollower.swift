import BatonCore
import BatonSQLite
import BatonSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Follows a live database's WAL and hands every committed transaction, in
/// order, to a `WALCaptureSink` while its frames are guaranteed intact.
///
/// ## Why no transaction can slip past
///
/// SQLite loses WAL frames only when it *restarts* the WAL (writes a new
/// header and overwrites from the start, or truncates), and it does so only
/// when every frame has been copied into the database and no reader is using
/// the WAL. The follower keeps a read transaction open on its own connection
/// (`guarded`), started while it held SQLite's write lock *after* reading the
/// WAL to its end. While that transaction is open:
/// - if it uses a WAL read mark, no restart can happen at all;
/// - if it started on a fully checkpointed WAL (read lock 0), SQLite cannot
///   checkpoint any frame written after it, so a restart can only drop frames
///   the follower had already read.
/// Either way, a WAL restart seen while guarded started right after the
/// frames already captured: continuity holds, and the follower moves to the
/// new generation (its checkpoint sequence is exactly one higher).
///
/// ## Not stalling the app
///
/// An app's own FULL, RESTART or TRUNCATE checkpoint waits for readers. The
/// follower checks on every poll whether another process holds SQLite's
/// checkpoint *and* write locks (`WALLockProbe`); if so, nothing can be
/// appended, so it reads the WAL to its end, ends its read transaction and
/// waits for that checkpoint to finish before reading again ("yield"). The
/// app waits at most one poll interval plus the read.
///
/// ## What it does not guarantee
///
/// After a yield, the follower was not guarded, so a WAL generation it has not
/// seen starting cannot be proven continuous; `capture` then reports
/// `continuityLost` and the caller re-reads the whole database and stores
/// whatever differs (`Replicator.resync`). Nothing is skipped silently; the
/// cost is one full read of the database per such event.
final class WALFollower {
    /// What a capture found.
    enum CaptureResult: Equatable {
        /// This many transactions were delivered.
        case delivered(Int)
        /// The WAL moved on in a way that cannot be proven continuous.
        case continuityLost(String)
    }

    let session: DatabaseSession
    let wal: WALFile
    private(set) var position: WALPosition?
    private(set) var guarded = false
    private(set) var framesSinceCheckpoint = 0
    private var walHandle: LocalFile?

    private let debug = getenv("BATON_DEBUG") != nil
    private func debugLog(_ line: String) {
        let bytes = Array("debug: \(line)\n".utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    init(session: DatabaseSession) {
        self.session = session
        wal = WALFile(databasePath: session.path)
    }

    /// Under the write lock: reads the whole current WAL, starts the guarding
    /// read transaction, and returns the committed transactions in the WAL
    /// with the header they belong to (for resume decisions).
    func attach() throws -> (header: WALHeader?, transactions: [WALTransaction]) {
        guarded = false
        try session.endRead()
        return try session.withWriteLock {
            let header = try wal.header()
            var transactions: [WALTransaction] = []
            if let header {
                let (found, end) = try wal.transactions(header: header, after: WALPosition(start: header))
                transactions = found
                position = end
            } else {
                position = nil
            }
            try session.beginRead()
            guarded = true
            framesSinceCheckpoint = transactions.reduce(0) { $0 + $1.frames.count }
            return (header, transactions)
        }
    }

    /// any WALCaptureSinks every transaction committed since the last capture.
    func capture(_ sink: any WALCaptureSink) throws -> CaptureResult {
        guard let header = try wal.header() else {
            if debug { debugLog("no valid WAL header (size \(FileSystem.attributes(wal.path)?.size ?? -1))") }
            return .delivered(0)
        }
        if let current = position, current.isSameGeneration(as: header) {
            // Same generation: continue below.
        } else if guarded, position == nil || header.checkpointSequence == position!.checkpointSequence &+ 1 {
            // A restart while guarded starts right after what was captured.
            if debug {
                debugLog(
                    "new generation seq \(header.checkpointSequence) salt \(header.salt1) (was \(position.map { "\($0.checkpointSequence)@\($0.offset)" } ?? "none"))"
                )
            }
            position = WALPosition(start: header)
        } else {
            let was = position.map { "\($0.salt1)/\($0.salt2) seq \($0.checkpointSequence)" } ?? "none"
            return .continuityLost(
                "the WAL was restarted while Baton was not holding its read lock (was \(was), now seq \(header.checkpointSequence))"
            )
        }
        // One pass: pages go to the sink as they are read; the position moves
        // with each commit, so a failure part-way never delivers a commit twice.
        let start = position!
        var delivered = 0
        defer { sink.discardUncommitted() }
        try wal.scan(header: header, after: start) { frame, page in
            try sink.stage(frame.pageNumber, page)
        } commit: { transaction in
            try sink.commit(transaction, firstFrameOffset: position!.offset)
            position = transaction.end
            framesSinceCheckpoint += transaction.frames.count
            delivered += 1
        }
        if debug, delivered > 0 {
            debugLog(
                "capture seq \(header.checkpointSequence) salt \(header.salt1) from \(start.offset) -> \(position!.offset), \(delivered) tx, guarded \(guarded)"
            )
        }
        return .delivered(delivered)
    }

    /// If another process runs a checkpoint that waits for readers, captures
    /// everything, lets go of the read transaction, waits (bounded) for that
    /// checkpoint to finish, then takes the read transaction again. Returns
    /// nil when no checkpoint was waiting.
    func yieldToWaitingCheckpoint(maxWaitMilliseconds: Int, _ sink: any WALCaptureSink) throws -> CaptureResult? {
        guard session.isReading, let probe = session.probe, probe.isBlockingCheckpointInProgress else { return nil }
        let captured = try capture(sink)
        try session.endRead()
        guarded = false
        var waited = 0
        while probe.isCheckpointInProgress && waited < maxWaitMilliseconds {
            usleep(1000)
            waited += 1
        }
        if case .continuityLost = captured { return captured }
        return try reacquire(sink)
    }

    /// Takes the write lock, captures, and moves the guarding read
    /// transaction to the end of the WAL. The old read transaction is kept
    /// until the lock is held, so nothing is unprotected meanwhile.
    func reacquire(_ sink: any WALCaptureSink) throws -> CaptureResult {
        try withWriteLock(sink) {
            let result = try capture(sink)
            guarded = false
            try session.endRead()
            try session.beginRead()
            guarded = true
            return result
        }
    }

    /// Takes the write lock for `body`; while waiting for it, steps aside for
    /// a checkpoint that waits on the read transaction (see `yieldToWaitingCheckpoint`).
    /// A continuity lost while stepping aside is returned without running `body`.
    private func withWriteLock(_ sink: any WALCaptureSink, _ body: () throws -> CaptureResult) throws -> CaptureResult {
        var lost: CaptureResult?
        return try session.withWriteLock(whileWaiting: {
            guard lost == nil, session.isReading, let probe = session.probe, probe.isBlockingCheckpointInProgress else {
                return
            }
            let captured = try capture(sink)
            if case .continuityLost = captured { lost = captured }
            try session.endRead()
            guarded = false
        }) {
            if let lost { return lost }
            return try body()
        }
    }

    /// After a lost continuity: under the write lock, moves to the end of the
    /// current WAL without delivering anything and starts a guarding read
    /// transaction. The caller then reads the database as of that point.
    func restartAtEnd() throws -> (header: WALHeader?, position: WALPosition?) {
        guarded = false
        try session.endRead()
        return try session.withWriteLock {
            let header = try wal.header()
            if let header {
                position = try wal.transactions(header: header, after: WALPosition(start: header)).1
            } else {
                position = nil
            }
            try session.beginRead()
            guarded = true
            framesSinceCheckpoint = 0
            return (header, position)
        }
    }

    /// Baton's own checkpoint: under the write lock, captures and seals
    /// everything (`seal` must make it durable), then checkpoints PASSIVE with
    /// no reader of its own in the way and starts a fresh read transaction, so
    /// the app's next write can restart the WAL. Truncates the WAL file when
    /// it has grown past `truncateAboveBytes`.
    func checkpoint(truncateAboveBytes: Int64, _ sink: any WALCaptureSink, seal: () throws -> Void) throws
        -> CaptureResult
    {
        let result: CaptureResult = try withWriteLock(sink) {
            let captured = try capture(sink)
            if case .continuityLost = captured { return captured }
            try seal()
            try session.endRead()
            guarded = false
            let outcome = try session.checkpoint(.passive, busyTimeoutMilliseconds: 0)
            try session.beginRead()
            guarded = true
            if outcome.completed && outcome.walFrames == outcome.checkpointedFrames { framesSinceCheckpoint = 0 }
            return captured
        }
        if case .delivered = result, let size = FileSystem.attributes(wal.path)?.size, size > truncateAboveBytes {
            // Safe while guarded: frames written since the read transaction
            // began cannot be checkpointed, so a truncate can only succeed when
            // there are none; otherwise SQLite answers busy and nothing happens.
            _ = try session.checkpoint(.truncate, busyTimeoutMilliseconds: 100)
        }
        return result
    }
}
