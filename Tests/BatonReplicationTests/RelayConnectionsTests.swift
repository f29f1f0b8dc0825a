import BatonCore
import BatonSQLite
import BatonSystem
import Foundation
import Synchronization
import Testing

/// The holder's relay connections, kept open between requests, and the
/// statements they keep prepared.
@Suite struct RelayConnectionsTests {
    func database() throws -> String {
        let directory = NSTemporaryDirectory() + "relay-connections-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/db.sqlite"
        FileManager.default.createFile(atPath: path, contents: nil)
        let setup = try StatementRunner(path: path, readOnly: false, busyTimeoutMilliseconds: 100)
        _ = setup.run(
            [
                RelayStatement(sql: "PRAGMA journal_mode=WAL"),
                RelayStatement(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"),
            ], kind: .execute, transaction: false)
        setup.close()
        return path
    }

    func insert(_ value: String) -> [RelayStatement] {
        [RelayStatement(sql: "INSERT INTO t(v) VALUES(?)", parameters: .positional([.text(value)]))]
    }

    let count = [RelayStatement(sql: "SELECT count(*) FROM t")]

    func rows(_ results: [RelayResult]) -> [[RelayValue]]? {
        guard case .rows(_, _, let values) = results.last?.outcome else { return nil }
        return values
    }

    @Test func requestsReuseOneConnectionAndItsPreparedStatement() throws {
        let path = try database()
        let connections = RelayConnections(busyTimeoutMilliseconds: 100, mayCommit: { true })
        connections.open()
        for index in 1...20 {
            let (results, changed) = try connections.run(path: path, readOnly: false) { runner in
                (runner.run(insert("row \(index)"), kind: .execute, transaction: false), runner.preparedCount)
            }
            #expect(results.0[0].outcome == .executed(lastInsertID: Int64(index), rowsAffected: 1))
            #expect(results.1 == 1)
            #expect(changed)
        }
        let (read, changed) = try connections.run(path: path, readOnly: true) {
            $0.run(count, kind: .query, transaction: false)
        }
        #expect(rows(read) == [[.integer(20)]])
        #expect(!changed)  // what earlier requests on other connections wrote does not count
        #expect(connections.openedCount == 2)  // one read-write, one read-only
        _ = try connections.run(path: path, readOnly: false) { runner in
            // A failed statement leaves nothing half-done for the next use of the same text.
            runner.run(
                [RelayStatement(sql: "INSERT INTO t(v) VALUES(?)", parameters: .positional([]))], kind: .execute,
                transaction: false)
        }
        let (again, _) = try connections.run(path: path, readOnly: false) {
            $0.run(insert("after"), kind: .execute, transaction: false)
        }
        #expect(again[0].outcome == .executed(lastInsertID: 21, rowsAffected: 1))
    }

    @Test func aKeptStatementSeesASchemaChangeAndMultiStatementTextsAreNotKept() throws {
        let path = try database()
        let connections = RelayConnections(busyTimeoutMilliseconds: 100, mayCommit: { true })
        connections.open()
        let all = [RelayStatement(sql: "SELECT * FROM t")]
        _ = try connections.run(path: path, readOnly: false) { $0.run(insert("a"), kind: .execute, transaction: false) }
        let (before, _) = try connections.run(path: path, readOnly: true) {
            $0.run(all, kind: .query, transaction: false)
        }
        #expect(rows(before) == [[.integer(1), .text("a")]])
        // Another connection (the app) changes the schema.
        let app = try StatementRunner(path: path, readOnly: false, busyTimeoutMilliseconds: 100)
        _ = app.run([RelayStatement(sql: "ALTER TABLE t ADD COLUMN w DEFAULT 7")], kind: .execute, transaction: false)
        app.close()
        let (after, _) = try connections.run(path: path, readOnly: true) {
            $0.run(all, kind: .query, transaction: false)
        }
        #expect(rows(after) == [[.integer(1), .text("a"), .integer(7)]])
        let (kept, _) = try connections.run(path: path, readOnly: false) { runner in
            _ = runner.run(
                [RelayStatement(sql: "INSERT INTO t(v) VALUES('b'); INSERT INTO t(v) VALUES('c')")], kind: .execute,
                transaction: false)
            return runner.preparedCount
        }
        #expect(kept == 1)  // the single insert from before only
    }

    @Test func nothingRunsWhileClosedAndCloseInterruptsARunningStatement() async throws {
        let path = try database()
        let connections = RelayConnections(busyTimeoutMilliseconds: 100, mayCommit: { true })
        #expect(throws: RelayConnections.Closed.self) {
            try connections.run(path: path, readOnly: true) { $0.run(count, kind: .query, transaction: false) }
        }
        connections.open()
        // A query that would run for ever, on a blocking-work thread.
        let endless = [
            RelayStatement(sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n")
        ]
        let running = Task {
            try await BlockingWork.run {
                try connections.run(path: path, readOnly: true) { $0.run(endless, kind: .query, transaction: false) }.0
            }
        }
        var started = false
        for _ in 0..<500 where !started {
            try await Task.sleep(nanoseconds: 2_000_000)
            started = connections.openedCount == 1
        }
        #expect(started)
        let begun = MonotonicClock.now()
        let left = await connections.close(timeoutMilliseconds: 5000)
        #expect(left == 0)
        #expect(MonotonicClock.now() - begun < 4000)
        let results = try await running.value
        #expect(results.last?.outcome == .error("interrupted"))
        #expect(!connections.isOpen)
        #expect(throws: RelayConnections.Closed.self) {
            try connections.run(path: path, readOnly: false) { $0.run(insert("x"), kind: .execute, transaction: false) }
        }
        // Every connection is closed: the last close folded the WAL away.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
