import BatonCore
import BatonSQLite
import Foundation
import Synchronization
import Testing

@Suite struct StatementRunnerTests {
    func runner(_ directory: String, readOnly: Bool = false) throws -> StatementRunner {
        try StatementRunner(path: directory + "/db.sqlite", readOnly: readOnly, busyTimeoutMilliseconds: 100)
    }

    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "runner-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path + "/db.sqlite", contents: nil)
        return path
    }

    @Test func executesBindsAndReportsPerStatement() throws {
        let dir = try directory()
        let results = try runner(dir).run(
            [
                RelayStatement(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)"),
                RelayStatement(
                    sql: "INSERT INTO t(v, b) VALUES(?, ?)", parameters: .positional([.text("x"), .blob([])])),
                RelayStatement(sql: "INSERT INTO t(v) VALUES(:v)", parameters: .named(["v": .text("y")])),
                RelayStatement(sql: "INSERT INTO nowhere VALUES(1)"),
                RelayStatement(sql: "SELECT id, v, b, 1.5 AS r FROM t ORDER BY id"),
            ], kind: .request, transaction: false)
        #expect(results[1].outcome == .executed(lastInsertID: 1, rowsAffected: 1))
        #expect(results[2].outcome == .executed(lastInsertID: 2, rowsAffected: 1))
        #expect(results[3].outcome == .error("no such table: nowhere"))
        #expect(
            results[4].outcome
                == .rows(
                    columns: ["id", "v", "b", "r"], types: ["integer", "text", "blob", "real"],
                    values: [
                        [.integer(1), .text("x"), .blob([]), .real(1.5)], [.integer(2), .text("y"), .null, .real(1.5)],
                    ]))
    }

    @Test func aTransactionStopsAtTheFirstErrorAndLeavesNothing() throws {
        let dir = try directory()
        _ = try runner(dir).run([RelayStatement(sql: "CREATE TABLE t (v)")], kind: .execute, transaction: false)
        let results = try runner(dir).run(
            [
                RelayStatement(sql: "INSERT INTO t VALUES(1)"), RelayStatement(sql: "bogus"),
                RelayStatement(sql: "INSERT INTO t VALUES(2)"),
            ], kind: .execute, transaction: true)
        #expect(results.count == 2 && results[1].isError)
        let count = try runner(dir, readOnly: true).run(
            [RelayStatement(sql: "SELECT count(*) FROM t")], kind: .query, transaction: false)
        #expect(count[0].outcome == .rows(columns: ["count(*)"], types: ["integer"], values: [[.integer(0)]]))
    }

    @Test func queriesRefuseWritesAndParametersMustFit() throws {
        let dir = try directory()
        _ = try runner(dir).run([RelayStatement(sql: "CREATE TABLE t (v)")], kind: .execute, transaction: false)
        let results = try runner(dir).run(
            [
                RelayStatement(sql: "DELETE FROM t"),
                RelayStatement(sql: "SELECT ?"),
                RelayStatement(sql: "SELECT :a", parameters: .named(["a": .integer(1), "z": .integer(2)])),
            ], kind: .query, transaction: false)
        #expect(results[0].outcome == .error("this statement writes; use /db/execute or /db/request for writes"))
        #expect(results[1].outcome == .error("the statement has 1 parameters but none were given"))
        #expect(results[2].outcome == .error("the statement has no parameter named z"))
    }

    @Test func nothingCommitsOnceTheGateSaysNoAndReadsStillWork() throws {
        let dir = try directory()
        let allowed = Mutex(true)
        func gated() throws -> StatementRunner {
            try StatementRunner(
                path: dir + "/db.sqlite", readOnly: false, busyTimeoutMilliseconds: 100,
                mayCommit: { allowed.withLock { $0 } })
        }
        let runner = try gated()
        _ = runner.run([RelayStatement(sql: "CREATE TABLE t (v)")], kind: .execute, transaction: false)
        // A schema change is a write too: the relay waits for its transaction like any other.
        #expect(runner.changedSomething)
        #expect(
            runner.run([RelayStatement(sql: "INSERT INTO t VALUES(1)")], kind: .execute, transaction: false)[0]
                .outcome == .executed(lastInsertID: 1, rowsAffected: 1))

        // The lease's deadline passed: a statement on its own and a transaction both roll back, said plainly.
        allowed.withLock { $0 = false }
        let alone = runner.run([RelayStatement(sql: "INSERT INTO t VALUES(2)")], kind: .execute, transaction: false)
        #expect(
            alone[0].outcome == .error("this node lost the baton before the transaction committed; it was rolled back"))
        let refusedAlone = try gated()
        _ = refusedAlone.run([RelayStatement(sql: "INSERT INTO t VALUES(2)")], kind: .execute, transaction: false)
        #expect(!refusedAlone.changedSomething)
        let together = try gated().run(
            [RelayStatement(sql: "INSERT INTO t VALUES(3)"), RelayStatement(sql: "INSERT INTO t VALUES(4)")],
            kind: .execute, transaction: true)
        #expect(
            together.last?.outcome
                == .error(
                    "the transaction did not commit: this node lost the baton before the transaction committed; it was rolled back"
                ))
        // Reads commit nothing: they still answer.
        let count = try gated().run([RelayStatement(sql: "SELECT count(*) FROM t")], kind: .request, transaction: false)
        #expect(count[0].outcome == .rows(columns: ["count(*)"], types: ["integer"], values: [[.integer(1)]]))
        // Other errors are told as they are.
        let other = runner.run(
            [RelayStatement(sql: "INSERT INTO nowhere VALUES(1)")], kind: .execute, transaction: false)
        #expect(other[0].outcome == .error("no such table: nowhere"))
    }
}
