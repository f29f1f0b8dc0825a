import BatonCore
import CSQLite
import Foundation

/// Runs relay statements on one SQLite connection of Baton's own, beside
/// the app's: a busy timeout instead of failing on the app's write lock,
/// and one transaction at a time (never held between requests). The
/// connection may serve many requests (`RelayConnections` keeps it open);
/// single statements stay prepared between them (`StatementCache`).
/// Blocking: call it off the event loops. Not thread-safe, except
/// `interrupt()`.
public final class StatementRunner {
    /// How the statements of one request are treated.
    public enum Kind: Sendable {
        /// `/db/execute`: every statement reports rows affected.
        case execute
        /// `/db/query`: only statements that do not write; each reports rows.
        case query
        /// `/db/request`: reads report rows, writes report rows affected.
        case request
    }

    private var handle: OpaquePointer?
    private let path: String
    private let gate: CommitGate
    private var cache = StatementCache()

    /// Opens `path` read-write with a busy timeout, or for reading only;
    /// `immutable` reads a file nothing changes while it is open (a standby's
    /// copy under its apply lock) without locks or WAL files. `mayCommit` is
    /// asked at every commit, which it turns into a rollback when it says no
    /// (a holder's relay: only while the lease is provably held, as the app
    /// is killed at that deadline: a statement that waited out a busy timeout
    /// past it must not commit).
    public init(
        path: String, readOnly: Bool, immutable: Bool = false, busyTimeoutMilliseconds: Int32,
        mayCommit: (@Sendable () -> Bool)? = nil
    ) throws {
        gate = CommitGate(mayCommit)
        self.path = path
        let flags =
            (readOnly || immutable ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
            | SQLITE_OPEN_URI
        let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        let name = immutable ? "file:\(escaped)?immutable=1" : "file:\(escaped)"
        let result = sqlite3_open_v2(name, &handle, flags, nil)
        guard result == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            handle = nil
            throw BatonError(.sqlite, "cannot open database \(path): \(message)")
        }
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        if readOnly { _ = sqlite3_exec(handle, "PRAGMA query_only = 1", nil, nil, nil) }
        sqlite3_commit_hook(
            handle,
            { context in
                guard let context else { return 0 }
                return Unmanaged<CommitGate>.fromOpaque(context).takeUnretainedValue().refuses() ? 1 : 0
            }, Unmanaged.passUnretained(gate).toOpaque())
    }

    deinit { close() }

    /// Closes the connection (idempotent); its prepared statements go first.
    public func close() {
        guard let handle else { return }
        cache.finalizeAll()
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// Stops what the connection runs as soon as it can (SQLite checks
    /// between steps): the statement fails with "interrupted". Safe from
    /// another thread while the connection is open.
    public func interrupt() {
        if let handle { sqlite3_interrupt(handle) }
    }

    /// Statements kept prepared (for tests and metrics).
    public var preparedCount: Int { cache.count }

    /// Runs `statements`; with `transaction` all of them or none (the first
    /// error rolls back and stops), else each on its own.
    public func run(_ statements: [RelayStatement], kind: Kind, transaction: Bool) -> [RelayResult] {
        var results: [RelayResult] = []
        if transaction {
            // Take the write lock up front for writes, so the busy timeout applies once, here.
            let begin = kind == .query ? "BEGIN" : "BEGIN IMMEDIATE"
            if let error = exec(begin) { return [RelayResult(.error(error))] }
        }
        for statement in statements {
            let result = run(statement, kind: kind)
            results.append(result)
            if transaction, result.isError {
                _ = exec("ROLLBACK")
                return results
            }
        }
        if transaction, let error = exec("COMMIT") {
            _ = exec("ROLLBACK")
            results.append(RelayResult(.error("the transaction did not commit: \(explained(error))")))
        }
        return results
    }

    /// The error, or why the commit gate refused the commit that failed.
    private func explained(_ error: String) -> String {
        guard gate.takeRefusal() else { return error }
        return "this node lost the baton before the transaction committed; it was rolled back"
    }

    /// How many write transactions (rows or schema) the connection committed
    /// so far: a request changed something when this grew while it ran.
    public var commits: Int { gate.committed }

    /// Whether the connection's statements committed a write (rows or schema).
    public var changedSomething: Bool { gate.committed > 0 }

    private func run(_ statement: RelayStatement, kind: Kind) -> RelayResult {
        let started = DispatchTime.now().uptimeNanoseconds
        func finish(_ outcome: RelayResult.Outcome) -> RelayResult {
            RelayResult(outcome, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        if let cached = cache.take(statement.sql) {
            // The same single statement as an earlier request: prepared already.
            defer { cache.put(statement.sql, cached) }
            switch execute(cached, binding: statement.parameters, kind: kind) {
            case .success(let outcome): return finish(outcome)
            case .failure(let error): return finish(.error(explained(error.text)))
            }
        }
        var last: RelayResult.Outcome = .executed(lastInsertID: 0, rowsAffected: 0)
        let utf8 = Array(statement.sql.utf8CString)
        var failure: String?
        utf8.withUnsafeBufferPointer { buffer in
            var next: UnsafePointer<CChar>? = buffer.baseAddress
            var first = true
            while let sql = next, sql.pointee != 0 {
                var prepared: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                guard
                    sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, &tail)
                        == SQLITE_OK
                else {
                    failure = message
                    return
                }
                next = tail
                guard let prepared else { continue }  // whitespace or a comment
                // One statement and nothing after it: kept for the next request with the same text.
                let single = first && StatementRunner.isBlank(tail)
                defer {
                    if single { cache.put(statement.sql, prepared) } else { sqlite3_finalize(prepared) }
                }
                // Parameters belong to the first statement of the text (the rest bind none, as before).
                let parameters = first ? statement.parameters : nil
                first = false
                switch execute(prepared, binding: parameters, kind: kind) {
                case .success(let outcome): last = outcome
                case .failure(let error):
                    failure = error.text
                    return
                }
            }
        }
        return finish(failure.map { .error(explained($0)) } ?? last)
    }

    /// Binds, checks and steps one prepared statement.
    private func execute(_ prepared: OpaquePointer, binding parameters: RelayStatement.Parameters?, kind: Kind)
        -> Result<RelayResult.Outcome, StepFailure>
    {
        if let parameters, let error = bind(parameters, to: prepared) { return .failure(StepFailure(error)) }
        let reads = sqlite3_stmt_readonly(prepared) != 0
        if kind == .query, !reads {
            return .failure(StepFailure("this statement writes; use /db/execute or /db/request for writes"))
        }
        let wantsRows = kind == .query || (kind == .request && reads)
        return step(prepared, collecting: wantsRows).map { rows in
            rows
                ?? .executed(
                    lastInsertID: sqlite3_last_insert_rowid(handle), rowsAffected: Int64(sqlite3_changes(handle)))
        }
    }

    /// Whether nothing but whitespace and comments follows `tail`.
    private static func isBlank(_ tail: UnsafePointer<CChar>?) -> Bool {
        guard var cursor = tail else { return true }
        while cursor.pointee != 0 {
            switch UInt8(bitPattern: cursor.pointee) {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ";"):
                cursor += 1
            default:
                return false
            }
        }
        return true
    }

    private func step(_ prepared: OpaquePointer, collecting: Bool) -> Result<RelayResult.Outcome?, StepFailure> {
        var values: [[RelayValue]] = []
        while true {
            let code = sqlite3_step(prepared)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { return .failure(StepFailure(message)) }
            if collecting {
                let count = sqlite3_column_count(prepared)
                values.append((0..<count).map { value(prepared, $0) })
            }
        }
        guard collecting else { return .success(nil) }
        // Counted after the first step: a kept statement is prepared again there when the schema changed.
        let count = sqlite3_column_count(prepared)
        let columns = (0..<count).map { String(cString: sqlite3_column_name(prepared, $0)) }
        let types = (0..<count).map { column -> String in
            if let declared = sqlite3_column_decltype(prepared, column) {
                return String(cString: declared).lowercased()
            }
            switch values.first?[Int(column)] {
            case .integer: return "integer"
            case .real: return "real"
            case .text: return "text"
            case .blob: return "blob"
            case .null, nil: return ""
            }
        }
        return .success(.rows(columns: columns, types: types, values: values))
    }

    private struct StepFailure: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    private func value(_ prepared: OpaquePointer, _ column: Int32) -> RelayValue {
        switch sqlite3_column_type(prepared, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(prepared, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(prepared, column))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(prepared, column)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(prepared, column))
            guard count > 0, let bytes = sqlite3_column_blob(prepared, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    /// Binds parameters; returns an error message when they do not fit the statement.
    private func bind(_ parameters: RelayStatement.Parameters, to prepared: OpaquePointer) -> String? {
        let expected = Int(sqlite3_bind_parameter_count(prepared))
        switch parameters {
        case .none:
            return expected == 0 ? nil : "the statement has \(expected) parameters but none were given"
        case .positional(let values):
            guard values.count == expected else {
                return "the statement has \(expected) parameters but \(values.count) were given"
            }
            for (offset, value) in values.enumerated() {
                if let error = bind(value, at: Int32(offset + 1), prepared) { return error }
            }
        case .named(let values):
            var used = Set<String>()
            for index in stride(from: 1, through: expected, by: 1) {
                guard let name = sqlite3_bind_parameter_name(prepared, Int32(index)).map({ String(cString: $0) }) else {
                    return "parameter \(index) of the statement has no name; give parameters as an array"
                }
                let bare = String(name.dropFirst())
                guard let value = values[bare] else { return "no value given for parameter \(name)" }
                used.insert(bare)
                if let error = bind(value, at: Int32(index), prepared) { return error }
            }
            if let unknown = values.keys.sorted().first(where: { !used.contains($0) }) {
                return "the statement has no parameter named \(unknown)"
            }
        }
        return nil
    }

    private func bind(_ value: RelayValue, at index: Int32, _ prepared: OpaquePointer) -> String? {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(prepared, index)
        case .integer(let number): code = sqlite3_bind_int64(prepared, index, number)
        case .real(let number): code = sqlite3_bind_double(prepared, index, number)
        case .text(let text): code = sqlite3_bind_text(prepared, index, text, -1, transient)
        case .blob(let bytes) where bytes.isEmpty: code = sqlite3_bind_zeroblob(prepared, index, 0)
        case .blob(let bytes):
            code = bytes.withUnsafeBytes {
                sqlite3_bind_blob(prepared, index, $0.baseAddress, Int32($0.count), transient)
            }
        }
        return code == SQLITE_OK ? nil : message
    }

    private func exec(_ sql: String) -> String? {
        sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK ? nil : message
    }

    private var message: String { String(cString: sqlite3_errmsg(handle)) }
}
