import BatonCore
import BatonSQLite

extension Replicator {
    /// How `start` goes on from the replica's newest file.
    enum ResumeOutcome {
        /// The database is exactly the replica's newest state: nothing to write.
        case resumed
        /// The WAL's transactions after the replica's newest state were sealed (to upload).
        case caughtUp
        /// Continuity with the replica cannot be proven; a snapshot must follow.
        case cannotResume(reason: String)
    }

    /// Decides whether the replica's newest file (`latest`, with its
    /// header and trailer) continues into this database and its WAL, and
    /// if so seals what the WAL holds after it. Blocking: it may read the
    /// whole database.
    func resume(
        latest: LTXFileInfo, header latestHeader: LTXHeader, trailer: LTXTrailer,
        wal: (header: WALHeader?, transactions: [WALTransaction])
    ) throws -> ResumeOutcome {
        let recordedEnd = Int(latestHeader.walOffset + latestHeader.walSize)
        let catchUp: (transactions: [WALTransaction], firstFrame: Int)
        if latestHeader.hasNoChecksum {
            return .cannotResume(reason: "its newest file carries no database checksum")
        } else if let walHeader = wal.header, latestHeader.walSalt1 == walHeader.salt1,
            latestHeader.walSalt2 == walHeader.salt2,
            recordedEnd == WALHeader.size || wal.transactions.contains(where: { $0.end.offset == recordedEnd })
        {
            // The WAL the replica was written from is still here: continue after its position.
            catchUp = (wal.transactions.filter { $0.end.offset > recordedEnd }, recordedEnd)
        } else if try databaseFileTable().databaseChecksum == trailer.postApplyChecksum {
            // The database file itself is at the replica's last state (the WAL was
            // checkpointed and removed when the last connection closed): every
            // transaction in the current WAL comes after it.
            catchUp = (wal.transactions, WALHeader.size)
        } else {
            return .cannotResume(
                reason: "the database changed while Baton was not running and the WAL no longer shows how")
        }
        table = try readState(header: wal.header, transactions: wal.transactions)
        guard !catchUp.transactions.isEmpty else {
            guard table.databaseChecksum == trailer.postApplyChecksum else {
                return .cannotResume(reason: "the database no longer matches the replica's newest file")
            }
            log("resumed \(store.displayURL) at transaction \(ownStats.txid)")
            return .resumed
        }
        guard let walHeader = wal.header else {
            return .cannotResume(reason: "transactions were found without a WAL header")
        }
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
        return .caughtUp
    }
}
