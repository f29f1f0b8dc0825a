import BatonCore

/// Where the WAL follower puts what it reads, in WAL order: each page as
/// its frame is read, then the transaction's commit. Pages staged after the
/// last commit of a read are discarded (their transaction is not finished).
protocol WALCaptureSink: AnyObject {
    /// A page of a transaction that has not committed yet.
    func stage(_ pageNumber: UInt32, _ page: ArraySlice<UInt8>) throws
    /// The staged pages' transaction committed; its first frame was at `firstFrameOffset`.
    func commit(_ transaction: WALTransaction, firstFrameOffset: Int) throws
    /// Drops staged pages of an unfinished transaction.
    func discardUncommitted()
}
