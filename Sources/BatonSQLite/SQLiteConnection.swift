import BatonCore
import CSQLite

/// A thin wrapper over one SQLite connection (the C API): execute
/// statements, read single values. Not thread-safe; its owner serializes use.
public final class SQLiteConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// The database path.
    public let path: String

    /// Opens `path`. `create` allows creating a missing file.
    public init(path: String, create: Bool = false, readOnly: Bool = false, uri: Bool = false) throws {
        self.path = path
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        if uri { flags |= SQLITE_OPEN_URI }
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            handle = nil
            throw BatonError(.sqlite, "cannot open database \(path): \(message)")
        }
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { close() }

    /// Closes the connection; later calls fail.
    public func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Sets how long SQLite waits on a lock before giving up.
    public func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_free(message)
            throw BatonError(.sqlite, "\(path): \(sql.prefix(60)): \(text)")
        }
    }

    /// Runs a statement; returns false instead of throwing when SQLite answers busy.
    public func executeUnlessBusy(_ sql: String) throws -> Bool {
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        if result & 0xFF == SQLITE_BUSY { return false }
        guard result == SQLITE_OK else { throw BatonError(.sqlite, "\(path): \(sql.prefix(60)): \(lastMessage)") }
        return true
    }

    /// Every row of a query, each column as text (NULL as nil).
    public func rows(_ sql: String) throws -> [[String?]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            throw BatonError(.sqlite, "\(path): \(sql.prefix(60)): \(lastMessage)")
        }
        defer { sqlite3_finalize(statement) }
        var rows: [[String?]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw BatonError(.sqlite, "\(path): \(sql.prefix(60)): \(lastMessage)") }
            let columns = sqlite3_column_count(statement)
            rows.append(
                (0..<columns).map { column in
                    sqlite3_column_text(statement, column).map { String(cString: $0) }
                })
        }
        return rows
    }

    /// The first column of the first row, as text.
    public func scalar(_ sql: String) throws -> String? {
        try rows(sql).first?.first ?? nil
    }

    /// Result of `sqlite3_wal_checkpoint_v2`.
    public struct CheckpointResult: Sendable {
        /// False when SQLite answered SQLITE_BUSY (another connection was in the way).
        public var completed: Bool
        /// Frames in the WAL.
        public var walFrames: Int32
        /// Frames copied back to the database.
        public var checkpointedFrames: Int32
    }

    /// Checkpoint modes.
    public enum CheckpointMode: Int32, Sendable {
        /// Copy what can be copied without waiting.
        case passive = 0
        /// Wait for writers, copy everything.
        case full = 1
        /// As full, then wait for readers so the next writer restarts the WAL.
        case restart = 2
        /// As restart, and truncate the WAL file to zero bytes.
        case truncate = 3
    }

    /// Runs a checkpoint of the main database.
    public func checkpoint(_ mode: CheckpointMode) throws -> CheckpointResult {
        var log: Int32 = 0
        var done: Int32 = 0
        let result = sqlite3_wal_checkpoint_v2(handle, "main", mode.rawValue, &log, &done)
        if result == SQLITE_BUSY || result & 0xFF == SQLITE_BUSY {
            return CheckpointResult(completed: false, walFrames: log, checkpointedFrames: done)
        }
        guard result == SQLITE_OK else { throw BatonError(.sqlite, "\(path): checkpoint failed: \(lastMessage)") }
        return CheckpointResult(completed: true, walFrames: log, checkpointedFrames: done)
    }

    private var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }
}
