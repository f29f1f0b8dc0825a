import BatonCore

extension Replicator {
    /// Seals the spooled transactions into the next level-0 file. The
    /// pre-apply checksum is that of the last sealed state unless `preApply`
    /// overrides it (resuming after a restart, when only the store knows it).
    func seal(preApply: UInt64? = nil) throws {
        guard !spool.isEmpty, let walEnd = spool.walEnd else { return }
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: spool.commitPageCount, minTXID: ownStats.txid + 1,
            maxTXID: ownStats.txid + UInt64(spool.transactionCount), timestampMilliseconds: spool.lastCommitMilliseconds
        )
        header.preApplyChecksum = preApply ?? table.databaseChecksum
        header.nodeID = options.epoch
        applyChecksumFormat(&header)
        header.walSalt1 = walEnd.salt1
        header.walSalt2 = walEnd.salt2
        header.walOffset = Int64(spool.walStartInEndGeneration)
        header.walSize = Int64(walEnd.offset - spool.walStartInEndGeneration)
        var next = table
        if let floor = spool.shrinkFloor, floor < next.pageCount { next.resize(to: floor, pageSize: pageSize) }
        let info = try pending.write(
            header, level: 0,
            pages: { encoder in
                for number in spool.pageNumbers() {
                    let data = try spool.page(number)
                    try encoder.writePage(number, data)
                    next.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: pageSize)
                }
                next.resize(to: spool.commitPageCount, pageSize: pageSize)
            }, postApply: { next.databaseChecksum })
        table = next
        ownStats.txid = info.maxTXID
        ownStats.segmentsSealed += 1
        try spool.reset()
        streaming?.checkAgainstSealed(txid: ownStats.txid, table: table)
    }

    /// Drops the database checksums from `header` when the options say so
    /// (`databaseChecksums` off: files Litestream can restore).
    func applyChecksumFormat(_ header: inout LTXHeader) {
        guard !options.databaseChecksums else { return }
        header.flags |= LTXHeader.flagNoChecksum
        header.preApplyChecksum = 0
    }
}
