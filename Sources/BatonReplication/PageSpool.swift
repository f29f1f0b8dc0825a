import BatonCore
import BatonSystem

/// The newest copy of each page of a batch of transactions, kept in an
/// anonymous local file so a batch need not fit in memory. Pages are staged
/// as they are read and become part of the batch when their transaction
/// commits; used to seal captured WAL transactions and to merge LTX files.
final class PageSpool {
    private let file: LocalFile
    private var end: Int64 = 0
    private var committedEnd: Int64 = 0
    private var latest: [UInt32: Int64] = [:]
    private var staged: [UInt32: Int64] = [:]
    private var lastPageCount: UInt32?
    /// Page size.
    let pageSize: UInt32
    /// The smallest database size any committed transaction left.
    private(set) var shrinkFloor: UInt32?

    /// A spool in a file created at `path` and unlinked at once.
    init(path: String, pageSize: UInt32) throws {
        try? FileSystem.remove(path)
        file = try LocalFile(path, .readWrite)
        try FileSystem.remove(path)
        self.pageSize = pageSize
    }

    /// Stores a page of a transaction that has not committed yet.
    func stage(_ pageNumber: UInt32, _ data: ArraySlice<UInt8>) throws {
        guard data.count == Int(pageSize) else {
            throw BatonError(.corrupt, "page \(pageNumber) has \(data.count) bytes, expected \(pageSize)")
        }
        try file.write(Array(data), at: end)
        staged[pageNumber] = end
        end += Int64(data.count)
    }

    /// The staged pages commit, leaving the database `pageCount` pages long.
    func commit(pageCount: UInt32) {
        latest.merge(staged) { _, new in new }
        staged.removeAll(keepingCapacity: true)
        committedEnd = end
        // Only a shrink can leave pages past the end.
        if let last = lastPageCount, pageCount < last { latest = latest.filter { $0.key <= pageCount } }
        shrinkFloor = min(shrinkFloor ?? pageCount, pageCount)
        lastPageCount = pageCount
    }

    /// Forgets staged pages whose transaction never committed.
    func discardStaged() {
        staged.removeAll(keepingCapacity: true)
        end = committedEnd
    }

    /// Page numbers to store for a batch ending at `pageCount` pages, in
    /// order: every page written, plus the pages past a shrink inside the
    /// batch that came back without a new copy (they are zeros).
    func pageNumbers(endingAt pageCount: UInt32) -> [UInt32] {
        var numbers = Set(latest.keys)
        let lock = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        if let floor = shrinkFloor, floor < pageCount {
            for number in (floor + 1)...pageCount where number != lock { numbers.insert(number) }
        }
        return numbers.sorted()
    }

    /// The page's newest committed copy, or zeros.
    func page(_ pageNumber: UInt32) throws -> [UInt8] {
        guard let offset = latest[pageNumber] else { return [UInt8](repeating: 0, count: Int(pageSize)) }
        return try file.read(at: offset, count: Int(pageSize))
    }

    /// Forgets everything.
    func reset() throws {
        try file.truncate(to: 0)
        end = 0
        committedEnd = 0
        latest.removeAll()
        staged.removeAll()
        lastPageCount = nil
        shrinkFloor = nil
    }
}
