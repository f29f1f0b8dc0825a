import BatonCore
import BatonSystem

/// Reads the pages of one consistent database state: the newest version of
/// each page in the WAL up to a position, else the page in the database file.
///
/// Valid only while a read transaction at that position is held (see
/// `DatabaseSession`): then SQLite never copies a frame newer than the
/// position into the database file, and it restarts the WAL only if every
/// frame up to the position is already in the file (the reader then falls
/// back to the file, having verified each WAL frame's checksum as it reads).
public final class DatabasePageReader {
    private let database: LocalFile
    private let wal: LocalFile?
    private let walFile: WALFile
    private let header: WALHeader?
    private var overlay: [UInt32: WALTransaction.Frame] = [:]
    /// Page size of the database.
    public let pageSize: UInt32

    /// Prepares to read `databasePath` as of `position` in the WAL whose header is `header`.
    /// `database` must stay open as long as SQLite connections to it are
    /// open in this process (see `DatabaseSession.databaseFile`).
    public init(database: LocalFile, pageSize: UInt32, header: WALHeader?, upTo position: WALPosition?) throws {
        self.database = database
        walFile = WALFile(databasePath: database.path)
        self.pageSize = pageSize
        self.header = header
        if let header, let position, position.isSameGeneration(as: header) {
            let (transactions, end) = try walFile.transactions(header: header, after: WALPosition(start: header))
            // A WAL that no longer reaches the position was restarted, which a
            // held read transaction allows only once every frame up to the
            // position is in the database file: read the file alone.
            if end.offset >= position.offset {
                for transaction in transactions where transaction.end.offset <= position.offset {
                    for frame in transaction.frames { overlay[frame.pageNumber] = frame }
                }
            }
            wal = try LocalFile(walFile.path, .read)
        } else {
            wal = nil
        }
    }

    /// The content of page `pageNumber` (zeros past the end of the database file).
    public func page(_ pageNumber: UInt32) throws -> [UInt8] {
        if let frame = overlay[pageNumber], let wal, let header {
            do {
                return try walFile.page(frame, header: header, from: wal)
            } catch let error as BatonError where error.code == .corrupt {
                // SQLite restarted the WAL. With a read transaction held that
                // is only possible when every frame was already copied into the
                // database file and no newer one can be: the file holds the page.
                overlay[pageNumber] = nil
            }
        }
        var data = try database.read(at: Int64(pageNumber - 1) * Int64(pageSize), count: Int(pageSize))
        if data.count < Int(pageSize) { data += [UInt8](repeating: 0, count: Int(pageSize) - data.count) }
        return data
    }
}
