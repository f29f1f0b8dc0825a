import BatonCore
import BatonSQLite
import BatonSystem

extension Replicator {
    /// Starts replicating: uploads files left from a previous run, then
    /// either resumes the replica from the WAL position its newest file
    /// records, or, when that cannot be proven continuous, writes a new
    /// snapshot under the next transaction ID. Never reuses a transaction ID.
    public func start() async throws {
        try await upload()
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        let (walHeader, transactions) = try follower.attach()
        pageSize = try session.readerGeometry().pageSize
        spool = try SegmentSpool(path: pending.temporaryPath(), pageSize: pageSize, clock: Replicator.nowMilliseconds)

        guard let latest = files.max(by: { ($0.maxTXID, -$0.level) < ($1.maxTXID, -$1.level) }) else {
            log("\(store.displayURL) is empty; writing the first snapshot")
            try writeSnapshot(txid: options.startAfterTXID + 1, header: walHeader, position: follower.position)
            try await upload()
            return
        }
        let latestHeader = try await ReplicaCatalog.header(of: latest, in: store)
        guard latestHeader.pageSize == pageSize else {
            throw BatonError(
                .unsupportedDatabase,
                "\(store.displayURL) holds pages of \(latestHeader.pageSize) bytes but \(databasePath) uses \(pageSize); use a new replica URL"
            )
        }
        ownStats.txid = latest.maxTXID
        if let snapshot = files.filter({ $0.level == LTXFileInfo.snapshotLevel }).max(by: { $0.maxTXID < $1.maxTXID }) {
            lastSnapshotMilliseconds = try await ReplicaCatalog.header(of: snapshot, in: store).timestampMilliseconds
        }
        let trailer = try await ReplicaCatalog.trailer(of: latest, in: store)

        let recordedEnd = Int(latestHeader.walOffset + latestHeader.walSize)
        var reason: String?
        var catchUp: (transactions: [WALTransaction], firstFrame: Int)?
        if latestHeader.hasNoChecksum {
            reason = "its newest file carries no database checksum"
        } else if let walHeader, latestHeader.walSalt1 == walHeader.salt1, latestHeader.walSalt2 == walHeader.salt2,
            recordedEnd == WALHeader.size || transactions.contains(where: { $0.end.offset == recordedEnd })
        {
            // The WAL the replica was written from is still here: continue after its position.
            catchUp = (transactions.filter { $0.end.offset > recordedEnd }, recordedEnd)
        } else if try databaseFileTable().databaseChecksum == trailer.postApplyChecksum {
            // The database file itself is at the replica's last state (the WAL was
            // checkpointed and removed when the last connection closed): every
            // transaction in the current WAL comes after it.
            catchUp = (transactions, WALHeader.size)
        } else {
            reason = "the database changed while Baton was not running and the WAL no longer shows how"
        }
        if let catchUp {
            table = try readDatabase(header: walHeader, position: follower.position) { _, _, _ in }
            if catchUp.transactions.isEmpty {
                if table.databaseChecksum == trailer.postApplyChecksum {
                    log("resumed \(store.displayURL) at transaction \(ownStats.txid)")
                    return
                }
                reason = "the database no longer matches the replica's newest file"
            } else if let walHeader {
                // Only the newest version of each page matters in the sealed file,
                // and that is the page as of the end of the WAL.
                let reader = try DatabasePageReader(
                    database: try openDatabaseFile(), pageSize: pageSize, header: walHeader, upTo: follower.position)
                var firstFrame = catchUp.firstFrame
                for transaction in catchUp.transactions {
                    for frame in transaction.frames {
                        try spool.stage(frame.pageNumber, try reader.page(frame.pageNumber)[...])
                    }
                    try spool.commit(transaction, firstFrameOffset: firstFrame)
                    firstFrame = transaction.end.offset
                }
                try seal(preApply: trailer.postApplyChecksum)
                log(
                    "resumed \(store.displayURL) at transaction \(latest.maxTXID); caught up \(catchUp.transactions.count) transactions"
                )
                try await upload()
                return
            }
        }
        log(
            "cannot resume \(store.displayURL) from the WAL (\(reason!)); writing a new snapshot as transaction \(max(ownStats.txid, options.startAfterTXID) + 1)"
        )
        try writeSnapshot(
            txid: max(ownStats.txid, options.startAfterTXID) + 1, header: walHeader, position: follower.position)
        try await upload()
    }

    /// Replicates until `shouldStop` says so, then seals and uploads
    /// everything captured. Store failures are logged and retried; other
    /// errors end the run.
    public func run(shouldStop: @escaping @Sendable () -> Bool) async throws {
        var storeFailing = false
        while !shouldStop() {
            do {
                try await step()
                if storeFailing { log("\(store.displayURL) is reachable again") }
                storeFailing = false
            } catch let error as BatonError where error.code == .io || error.code == .notFound || error.code == .busy {
                if !storeFailing { log("will retry: \(error.message)") }
                storeFailing = true
            }
            try await Task.sleep(nanoseconds: UInt64(options.pollIntervalMilliseconds) * 1_000_000)
        }
        try await finish()
    }

    /// Captures what the WAL holds and seals it locally without uploading:
    /// a holder fencing itself must not write to the store any more.
    public func sealCaptured() throws {
        try handle(try follower.capture(captureSink))
        try seal()
    }

    /// The folder of sealed files waiting for the store.
    public var pendingDirectory: String { pending.directory }

    /// One final capture; seals and uploads everything.
    public func finish() async throws {
        try await step(flushAll: true)
        let left = try pending.files().count
        if left > 0 {
            throw BatonError(
                .io, "\(left) sealed files could not be uploaded; they stay in \(pending.directory) for the next start")
        }
    }
}
