import BatonCore

/// A capture sink in front of the segment spool that also encodes every
/// committed transaction on its own, with its own running page-checksum
/// table, and hands it to a `TransactionTap`. Pages of the transaction in
/// progress are held in memory up to `maxTransactionBytes`; a larger
/// transaction is not streamed (the tap is told the stream restarts after it).
final class StreamingSink: WALCaptureSink {
    private let inner: SegmentSpool
    private let tap: any TransactionTap
    private let pageSize: UInt32
    private let maxTransactionBytes: Int
    private let epoch: UInt64
    private var staged: [UInt32: [UInt8]] = [:]
    private var stagedBytes = 0
    private var oversized = false
    /// False after a transaction that was not streamed, until the next seal tells the state.
    private var stateKnown = true
    /// The last transaction streamed (or restarted at).
    private(set) var txid: UInt64
    /// Checksums of the state after `txid`.
    private(set) var table: PageChecksumTable

    /// A sink forwarding to `inner`, streaming after transaction `txid` whose state `table` describes.
    init(
        inner: SegmentSpool, tap: any TransactionTap, pageSize: UInt32, epoch: UInt64, txid: UInt64,
        table: PageChecksumTable, maxTransactionBytes: Int
    ) {
        self.inner = inner
        self.tap = tap
        self.pageSize = pageSize
        self.epoch = epoch
        self.txid = txid
        self.table = table
        self.maxTransactionBytes = maxTransactionBytes
        tap.restarted(txid: txid, checksum: table.databaseChecksum)
    }

    func stage(_ pageNumber: UInt32, _ page: ArraySlice<UInt8>) throws {
        try inner.stage(pageNumber, page)
        guard !oversized else { return }
        stagedBytes += page.count
        if stagedBytes > maxTransactionBytes {
            oversized = true
            staged.removeAll()
            return
        }
        staged[pageNumber] = Array(page)
    }

    func commit(_ transaction: WALTransaction, firstFrameOffset: Int) throws {
        try inner.commit(transaction, firstFrameOffset: firstFrameOffset)
        defer {
            staged.removeAll(keepingCapacity: true)
            stagedBytes = 0
            oversized = false
        }
        let next = txid + 1
        let pageCount = transaction.commitPageCount
        guard stateKnown, !oversized else {
            // The pages are gone; the state is known again once the batch is sealed.
            txid = next
            if stateKnown {
                stateKnown = false
                tap.restarted(txid: next, checksum: 0)
            }
            return
        }
        let previousCount = table.pageCount
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: pageCount, minTXID: next, maxTXID: next,
            timestampMilliseconds: Replicator.nowMilliseconds())
        header.preApplyChecksum = table.databaseChecksum
        header.nodeID = epoch
        var bytes: [UInt8] = []
        var encoder = try LTXEncoder(header: header) { bytes.append(contentsOf: $0) }
        var numbers = staged.keys.filter { $0 <= pageCount }
        // Pages past the old end that the transaction did not write are zeros (as in the spool).
        let lock = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        if pageCount > previousCount {
            for number in (previousCount + 1)...pageCount where staged[number] == nil && number != lock {
                numbers.append(number)
            }
        }
        numbers.sort()
        let zeros = [UInt8](repeating: 0, count: Int(pageSize))
        for number in numbers {
            let data = staged[number] ?? zeros
            try encoder.writePage(number, data)
            table.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: pageSize)
        }
        table.resize(to: pageCount, pageSize: pageSize)
        _ = try encoder.finish(postApplyChecksum: table.databaseChecksum)
        txid = next
        tap.committed(StreamedTransaction(txid: next, ltx: bytes, postApplyChecksum: table.databaseChecksum))
    }

    func discardUncommitted() {
        inner.discardUncommitted()
        staged.removeAll(keepingCapacity: true)
        stagedBytes = 0
        oversized = false
    }

    /// The replicator's own state moved (snapshot, resync): adopt it.
    func restart(txid: UInt64, table: PageChecksumTable) {
        self.txid = txid
        self.table = table
        stateKnown = true
        tap.restarted(txid: txid, checksum: table.databaseChecksum)
    }

    /// After a seal: if the sealed state is not the one streamed (or the
    /// stream lost track), restart the stream there.
    func checkAgainstSealed(txid sealedTXID: UInt64, table sealed: PageChecksumTable) {
        if !stateKnown || sealedTXID != txid || sealed.databaseChecksum != table.databaseChecksum {
            restart(txid: sealedTXID, table: sealed)
        }
    }
}
