import BatonCore
import BatonSystem

extension Replicator {
    /// Encodes an LTX file durably into the pending directory: `pages` writes
    /// the page frames, then the trailer gets `postApply()`.
    func writePending(
        _ header: LTXHeader, level: Int, pages: (inout LTXEncoder) throws -> Void, postApply: () -> UInt64
    ) throws -> LTXFileInfo {
        let info = LTXFileInfo(level: level, minTXID: header.minTXID, maxTXID: header.maxTXID)
        let temporary = pending.temporaryPath()
        do {
            let writer = try BufferedFileWriter(creating: temporary)
            var encoder = try LTXEncoder(header: header) { try writer.write($0) }
            try pages(&encoder)
            _ = try encoder.finish(postApplyChecksum: postApply())
            try writer.finish()
            try FileSystem.rename(temporary, to: pending.path(for: info))
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
        return info
    }

    /// Seals the spooled transactions into the next level-0 file. The
    /// pre-apply checksum is that of the last sealed state unless `preApply`
    /// overrides it (resuming after a restart, when only the store knows it).
    func seal(preApply: UInt64? = nil) throws {
        guard !spool.isEmpty, let walEnd = spool.walEnd else { return }
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: spool.commitPageCount, minTXID: stats.txid + 1,
            maxTXID: stats.txid + UInt64(spool.transactionCount), timestampMilliseconds: spool.lastCommitMilliseconds)
        header.preApplyChecksum = preApply ?? table.databaseChecksum
        header.walSalt1 = walEnd.salt1
        header.walSalt2 = walEnd.salt2
        header.walOffset = Int64(spool.walStartInEndGeneration)
        header.walSize = Int64(walEnd.offset - spool.walStartInEndGeneration)
        var next = table
        if let floor = spool.shrinkFloor, floor < next.pageCount { next.resize(to: floor, pageSize: pageSize) }
        let pages = try spool.pages(previousPageCount: table.pageCount)
        let info = try writePending(
            header, level: 0,
            pages: { encoder in
                for (number, read) in pages {
                    let data = try read()
                    try encoder.writePage(number, data)
                    next.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: pageSize)
                }
                next.resize(to: spool.commitPageCount, pageSize: pageSize)
            }, postApply: { next.databaseChecksum })
        table = next
        stats.txid = info.maxTXID
        stats.segmentsSealed += 1
        try spool.reset()
    }
}
