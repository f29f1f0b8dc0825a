import BatonCore
import BatonSystem

/// The transactions captured since the last sealed segment, kept in a local
/// file so a large transaction does not have to fit in memory. Remembers the
/// newest copy of each page, shrinks and the WAL range the batch came from.
final class SegmentSpool {
    private let file: LocalFile
    private var end: Int64 = 0
    private var latest: [UInt32: Int64] = [:]
    private let pageSize: UInt32
    /// The smallest database size any transaction in the batch committed.
    private(set) var shrinkFloor: UInt32?
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

    /// A spool in `path` (truncated) for pages of `pageSize` bytes.
    init(path: String, pageSize: UInt32) throws {
        try? FileSystem.remove(path)
        file = try LocalFile(path, .readWrite)
        self.pageSize = pageSize
    }

    /// Whether nothing is waiting.
    var isEmpty: Bool { transactionCount == 0 }

    /// Adds one committed transaction; `page` reads a page's data from the WAL.
    func add(
        _ transaction: WALTransaction, firstFrameOffset: Int, now: Int64, page: (WALTransaction.Frame) throws -> [UInt8]
    ) throws {
        var written: [UInt32: Int64] = [:]
        for frame in transaction.frames {
            let data = try page(frame)
            guard data.count == Int(pageSize) else { throw BatonError(.corrupt, "WAL page of unexpected size") }
            try file.write(data, at: end)
            written[frame.pageNumber] = end
            end += Int64(data.count)
        }
        latest.merge(written) { _, new in new }
        let count = transaction.commitPageCount
        // Any page past a shrink that comes back later without a new copy is zeros.
        shrinkFloor = min(shrinkFloor ?? count, count)
        latest = latest.filter { $0.key <= count }
        if walEnd == nil || !walEnd!.isSameGeneration(as: transaction.end) {
            walStartInEndGeneration = firstFrameOffset
        }
        if transactionCount == 0 { firstCommitMilliseconds = now }
        commitPageCount = count
        walEnd = transaction.end
        lastCommitMilliseconds = now
        transactionCount += 1
    }

    /// Pages to store, ascending, with their data. Pages past a shrink that
    /// the database still has but the batch never rewrote come back as zeros.
    func pages(previousPageCount: UInt32) throws -> [(UInt32, () throws -> [UInt8])] {
        var numbers = Set(latest.keys)
        let lock = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        if let floor = shrinkFloor, floor < previousPageCount {
            let upper = min(commitPageCount, previousPageCount)
            if floor < upper {
                for number in (floor + 1)...upper where number != lock { numbers.insert(number) }
            }
        }
        let zeros = [UInt8](repeating: 0, count: Int(pageSize))
        return numbers.sorted().map { number in
            if let offset = latest[number] {
                return (number, { try self.file.read(at: offset, count: Int(self.pageSize)) })
            }
            return (number, { zeros })
        }
    }

    /// Forgets everything.
    func reset() throws {
        try file.truncate(to: 0)
        end = 0
        latest.removeAll()
        shrinkFloor = nil
        transactionCount = 0
        commitPageCount = 0
        walEnd = nil
        walStartInEndGeneration = 0
    }
}
