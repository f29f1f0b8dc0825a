import BatonCore
import BatonSystem

/// Reads the pages of one consistent database state: the newest version of
/// each page in the WAL up to a position, else the page in the database file.
///
/// Valid only while a read transaction at that position is held (see
/// `DatabaseSession`): then SQLite cannot restart the WAL, and it never
/// copies a frame newer than the position into the database file.
public final class DatabasePageReader {
    private let database: LocalFile
    private let wal: LocalFile?
    private let walFile: WALFile
    private let header: WALHeader?
    private var overlay: [UInt32: Int] = [:]
    /// Page size of the database.
    public let pageSize: UInt32

    /// Prepares to read `databasePath` as of `position` in the WAL whose header is `header`.
    public init(databasePath: String, pageSize: UInt32, header: WALHeader?, upTo position: WALPosition?) throws {
        database = try LocalFile(databasePath, .read)
        walFile = WALFile(databasePath: databasePath)
        self.pageSize = pageSize
        self.header = header
        if let header, let position, position.isSameGeneration(as: header) {
            let (transactions, end) = try walFile.transactions(header: header, after: WALPosition(start: header))
            guard end.offset >= position.offset else {
                throw BatonError(.corrupt, "\(walFile.path) no longer holds the frames Baton read")
            }
            for transaction in transactions where transaction.end.offset <= position.offset {
                for frame in transaction.frames { overlay[frame.pageNumber] = frame.offset }
            }
            wal = try LocalFile(walFile.path, .read)
        } else {
            wal = nil
        }
    }

    /// The content of page `pageNumber` (zeros past the end of the database file).
    public func page(_ pageNumber: UInt32) throws -> [UInt8] {
        if let offset = overlay[pageNumber], let wal, let header {
            return try walFile.page(at: offset, pageNumber: pageNumber, header: header, from: wal)
        }
        var data = try database.read(at: Int64(pageNumber - 1) * Int64(pageSize), count: Int(pageSize))
        if data.count < Int(pageSize) { data += [UInt8](repeating: 0, count: Int(pageSize) - data.count) }
        return data
    }
}
