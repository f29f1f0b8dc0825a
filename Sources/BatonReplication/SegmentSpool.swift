import BatonCore
import BatonSystem

/// The transactions captured since the last sealed segment: their pages (a
/// `PageSpool`) and where in the WAL and when they came from.
final class SegmentSpool: WALCaptureSink {
    private let pages: PageSpool
    private let clock: () -> Int64
    /// Number of transactions in the batch.
    private(set) var transactionCount = 0
    /// Database size after the last transaction.
    private(set) var commitPageCount: UInt32 = 0
    /// WAL position after the last transaction.
    private(set) var walEnd: WALPosition?
    /// Offset of the first frame of the batch inside `walEnd`'s WAL generation.
    private(set) var walStartInEndGeneration: Int = 0
    /// Capture time of the last transaction (ms since the epoch).
    private(set) var lastCommitMilliseconds: Int64 = 0
    /// Capture time of the first transaction.
    private(set) var firstCommitMilliseconds: Int64 = 0

    /// A spool in an anonymous file at `path` for pages of `pageSize` bytes;
    /// `clock` stamps each commit.
    init(path: String, pageSize: UInt32, clock: @escaping () -> Int64) throws {
        pages = try PageSpool(path: path, pageSize: pageSize)
        self.clock = clock
    }

    /// Whether nothing is waiting.
    var isEmpty: Bool { transactionCount == 0 }

    /// The smallest database size the batch left.
    var shrinkFloor: UInt32? { pages.shrinkFloor }

    func stage(_ pageNumber: UInt32, _ page: ArraySlice<UInt8>) throws {
        try pages.stage(pageNumber, page)
    }

    func commit(_ transaction: WALTransaction, firstFrameOffset: Int) throws {
        pages.commit(pageCount: transaction.commitPageCount)
        if walEnd.map({ !$0.isSameGeneration(as: transaction.end) }) ?? true {
            walStartInEndGeneration = firstFrameOffset
        }
        let now = clock()
        if transactionCount == 0 { firstCommitMilliseconds = now }
        commitPageCount = transaction.commitPageCount
        walEnd = transaction.end
        lastCommitMilliseconds = now
        transactionCount += 1
    }

    func discardUncommitted() { pages.discardStaged() }

    /// Page numbers to seal, ascending.
    func pageNumbers() -> [UInt32] { pages.pageNumbers(endingAt: commitPageCount) }

    /// A page to seal (zeros for a page past a shrink that never came back).
    func page(_ pageNumber: UInt32) throws -> [UInt8] { try pages.page(pageNumber) }

    /// Forgets everything.
    func reset() throws {
        try pages.reset()
        transactionCount = 0
        commitPageCount = 0
        walEnd = nil
        walStartInEndGeneration = 0
    }
}
