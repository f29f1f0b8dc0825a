import BatonCore
import BatonSystem

/// Baton's three connections to a live WAL-mode database that another
/// process writes:
///
/// - the *reader* holds a read transaction almost all the time, so SQLite
///   can neither checkpoint past it nor restart the WAL under it;
/// - the *writer* takes SQLite's write lock (`BEGIN IMMEDIATE`) for the
///   moments when Baton must see the WAL stand still;
/// - the *checkpointer* runs Baton's own checkpoints.
///
/// All three have automatic checkpoints off. Not thread-safe: one owner.
public final class DatabaseSession: @unchecked Sendable {
    /// The database path.
    public let path: String
    private let reader: SQLiteConnection
    private let writer: SQLiteConnection
    private let checkpointer: SQLiteConnection
    /// Locks held by other processes on the `-shm` file.
    public private(set) var probe: WALLockProbe?
    /// The database file, opened once for direct page reads. Opening and
    /// closing the file again would drop the POSIX locks SQLite's connections
    /// in this process hold on it (a close drops all of a process's locks on
    /// a file), letting other processes checkpoint and delete the WAL.
    public private(set) var databaseFile: LocalFile?
    /// Whether the reader currently holds a read transaction.
    public private(set) var isReading = false

    /// Opens the connections and checks the database is usable: it exists, is
    /// in WAL mode (or is switched to it when `enableWAL`), and is readable.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000, enableWAL: Bool = false) throws {
        guard FileSystem.exists(path) else { throw BatonError(.notFound, "database \(path) does not exist") }
        self.path = path
        reader = try SQLiteConnection(path: path)
        writer = try SQLiteConnection(path: path)
        checkpointer = try SQLiteConnection(path: path)
        for connection in [reader, writer, checkpointer] {
            connection.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
            try connection.execute("PRAGMA wal_autocheckpoint=0")
        }
        let mode: String
        do {
            mode = try reader.scalar("PRAGMA journal_mode")?.lowercased() ?? ""
        } catch let error as BatonError {
            throw BatonError(.unsupportedDatabase, "\(path) is not a readable SQLite database (\(error.message))")
        }
        if mode != "wal" {
            guard enableWAL else {
                throw BatonError(
                    .unsupportedDatabase,
                    "database \(path) is in \(mode) journal mode; Baton needs WAL mode: "
                        + "run `sqlite3 \(path) 'PRAGMA journal_mode=WAL'` or pass --enable-wal")
            }
            let switched = try writer.scalar("PRAGMA journal_mode=WAL")?.lowercased()
            guard switched == "wal" else {
                throw BatonError(.unsupportedDatabase, "could not switch \(path) to WAL mode (is it in use?)")
            }
        }
        // A read makes SQLite create the -shm file before the probe opens it.
        _ = try reader.scalar("SELECT count(*) FROM sqlite_master")
        probe = try WALLockProbe(databasePath: path)
        databaseFile = try LocalFile(path, .read)
    }

    /// Closes everything; the probe and the database file last (see `WALLockProbe`).
    public func close() {
        if isReading { try? reader.execute("COMMIT") }
        isReading = false
        reader.close()
        writer.close()
        checkpointer.close()
        probe = nil
        databaseFile = nil
    }

    /// Starts the long read transaction.
    public func beginRead() throws {
        guard !isReading else { return }
        try reader.execute("BEGIN")
        do {
            // The read transaction starts at the first read.
            _ = try reader.scalar("SELECT count(*) FROM sqlite_master")
        } catch {
            try? reader.execute("COMMIT")
            throw error
        }
        isReading = true
    }

    /// Ends the long read transaction.
    public func endRead() throws {
        guard isReading else { return }
        isReading = false
        try reader.execute("COMMIT")
    }

    /// Page size and page count as the reader's transaction sees them.
    public func readerGeometry() throws -> (pageSize: UInt32, pageCount: UInt32) {
        let pageSize = UInt32(try reader.scalar("PRAGMA page_size") ?? "0") ?? 0
        let pageCount = UInt32(try reader.scalar("PRAGMA page_count") ?? "0") ?? 0
        guard pageSize >= 512 else { throw BatonError(.unsupportedDatabase, "\(path): cannot read its page size") }
        return (pageSize, pageCount)
    }

    /// Runs `body` while holding SQLite's write lock, so no transaction can
    /// commit and no WAL frame can be appended meanwhile. While the lock is
    /// taken by someone else, `whileWaiting` runs every few milliseconds (the
    /// follower uses it to step aside for a checkpoint that waits on its
    /// reader, which would otherwise keep the lock forever). Gives up with
    /// `busy` after `maxWaitMilliseconds`.
    public func withWriteLock<T>(
        maxWaitMilliseconds: Int = 30_000, whileWaiting: () throws -> Void = {}, _ body: () throws -> T
    ) throws -> T {
        writer.setBusyTimeout(milliseconds: 10)
        var waited = 0
        while !(try writer.executeUnlessBusy("BEGIN IMMEDIATE")) {
            waited += 10
            guard waited < maxWaitMilliseconds else {
                throw BatonError(
                    .busy, "\(path): another connection held the write lock for \(maxWaitMilliseconds / 1000) s")
            }
            try whileWaiting()
        }
        defer { try? writer.execute("ROLLBACK") }
        return try body()
    }

    /// Runs a checkpoint on the checkpointer connection with a busy timeout.
    public func checkpoint(
        _ mode: SQLiteConnection.CheckpointMode, busyTimeoutMilliseconds: Int32
    ) throws -> SQLiteConnection.CheckpointResult {
        checkpointer.setBusyTimeout(milliseconds: busyTimeoutMilliseconds)
        return try checkpointer.checkpoint(mode)
    }
}
