import BatonCore
import BatonSystem

/// Reads a database's `-wal` file: its header and the committed
/// transactions after a position, verified by `WALScanner`.
public struct WALFile {
    /// The path of the `-wal` file.
    public let path: String

    /// The WAL of database `databasePath`.
    public init(databasePath: String) { path = databasePath + "-wal" }

    /// The current header, or nil when the file is missing, empty or has no valid header.
    public func header() throws -> WALHeader? {
        guard FileSystem.exists(path) else { return nil }
        let file = try LocalFile(path, .read)
        return WALHeader(try file.read(at: 0, count: WALHeader.size))
    }

    /// Every transaction committed after `position` (which must belong to
    /// `header`'s generation), and the position after the last one.
    public func transactions(header: WALHeader, after position: WALPosition) throws -> (
        [WALTransaction], WALPosition
    ) {
        var transactions: [WALTransaction] = []
        let end = try scan(header: header, after: position, frame: { _, _ in }) { transactions.append($0) }
        return (transactions, end)
    }

    /// Reads the WAL once from `position`, in order: `frame` gets each valid
    /// frame's page as it is read (a transaction's pages come before its
    /// commit), `commit` each complete transaction. Frames after the last
    /// commit belong to no transaction yet. Returns the position after the
    /// last commit.
    @discardableResult
    public func scan(
        header: WALHeader, after position: WALPosition,
        frame: (WALTransaction.Frame, ArraySlice<UInt8>) throws -> Void,
        commit: (WALTransaction) throws -> Void
    ) throws -> WALPosition {
        let file = try LocalFile(path, .read)
        let size = try file.size()
        var scanner = WALScanner(header: header, from: position)
        let frameSize = header.frameSize
        let framesPerChunk = max(1, (1 << 20) / frameSize)
        scanning: while Int64(scanner.offset + frameSize) <= size {
            let chunk = try file.read(at: Int64(scanner.offset), count: frameSize * framesPerChunk)
            var start = 0
            while start + frameSize <= chunk.count {
                let offset = scanner.offset
                let step = scanner.consume(frame: Array(chunk[start..<start + frameSize]))
                if case .stop = step { break scanning }
                let pageNumber = BigEndian.uint32(chunk, start)
                try frame(
                    WALTransaction.Frame(pageNumber: pageNumber, offset: offset),
                    chunk[(start + WALFrameHeader.size)..<(start + frameSize)])
                if case .commit(let transaction) = step { try commit(transaction) }
                start += frameSize
            }
            if chunk.count < frameSize * framesPerChunk { break }
        }
        return scanner.committed
    }

    /// Reads the page of `frame` again, checking it is still the frame that
    /// was scanned (salts, page number, running checksum); throws `corrupt`
    /// when SQLite has overwritten it since.
    public func page(_ frame: WALTransaction.Frame, header: WALHeader, from file: LocalFile) throws -> [UInt8] {
        let bytes = try file.read(at: Int64(frame.offset), count: header.frameSize)
        guard WALScanner.verify(frame: bytes, header: header, previous: frame.checksumBefore),
            WALFrameHeader(bytes).pageNumber == frame.pageNumber
        else {
            throw BatonError(.corrupt, "\(path) was rewritten while Baton was reading it")
        }
        return Array(bytes[WALFrameHeader.size...])
    }
}
