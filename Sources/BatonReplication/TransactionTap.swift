import BatonCore

/// One committed transaction as standbys receive it: a one-transaction LTX
/// file (`minTXID == maxTXID`) carrying pre- and post-apply database checksums.
public struct StreamedTransaction: Sendable, Equatable {
    /// The transaction's ID (the same numbering as the replica in the store).
    public var txid: UInt64
    /// The encoded LTX file.
    public var ltx: [UInt8]
    /// Database checksum after the transaction.
    public var postApplyChecksum: UInt64

    /// A transaction record.
    public init(txid: UInt64, ltx: [UInt8], postApplyChecksum: UInt64) {
        self.txid = txid
        self.ltx = ltx
        self.postApplyChecksum = postApplyChecksum
    }
}

/// Receives each captured transaction the moment it commits, for streaming
/// to standbys without the store's batching window. Called on the
/// replicator's task; implementations hand the data off and return quickly.
public protocol TransactionTap: AnyObject, Sendable {
    /// A transaction committed.
    func committed(_ transaction: StreamedTransaction)
    /// The stream restarts at `txid` with database checksum `checksum`: what
    /// came before cannot be streamed (a snapshot, a resync, a transaction
    /// too large to hold in memory); standbys behind it catch up from the store.
    func restarted(txid: UInt64, checksum: UInt64)
}
