import BatonCore
import BatonSQLite

extension Replicator {
    /// A promoted standby's copy is ahead of the store (the old holder had
    /// not uploaded its last transactions): seals those transactions, taken
    /// from the copy itself, as one level-0 file under this epoch, so the
    /// replica continues without a snapshot of the whole database. Nil (and
    /// nothing written) unless the copy provably continues the store's
    /// newest state (`storeChecksum`, after `storeTXID`) and is exactly at
    /// the end of `recent`.
    func sealCopyTail(
        _ recent: RecentTransactions, storeTXID: UInt64, storeChecksum: UInt64, walHeader: WALHeader?,
        walTransactions: [WALTransaction]
    ) throws -> LTXFileInfo? {
        guard options.databaseChecksums, let tail = recent.tail(after: storeTXID),
            tail.preApplyChecksum == storeChecksum
        else { return nil }
        let geometry = try session.readerGeometry()
        guard geometry.pageSize == pageSize else { return nil }
        // The copy must be the state after the tail's last transaction, page for page.
        let state = try readState(header: walHeader, transactions: walTransactions)
        guard state.databaseChecksum == tail.postApplyChecksum else {
            log(
                "the copy is not the state its record of the stream ends at (checksum \(LTXFileInfo.hex(state.databaseChecksum)), expected \(LTXFileInfo.hex(tail.postApplyChecksum)))"
            )
            return nil
        }
        let reader = try DatabasePageReader(
            database: try openDatabaseFile(), pageSize: pageSize, header: walHeader, upTo: follower.position)
        let lock = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: geometry.pageCount, minTXID: tail.minTXID, maxTXID: tail.maxTXID,
            timestampMilliseconds: tail.timestampMilliseconds)
        header.preApplyChecksum = tail.preApplyChecksum
        header.nodeID = options.epoch
        let info = try pending.write(
            header, level: 0,
            pages: { encoder in
                // Pages a truncation dropped since are not part of the state.
                for number in tail.pages where number <= geometry.pageCount && number != lock {
                    try encoder.writePage(number, try reader.page(number))
                }
            }, postApply: { tail.postApplyChecksum })
        table = state
        ownStats.txid = tail.maxTXID
        ownStats.segmentsSealed += 1
        return info
    }
}
