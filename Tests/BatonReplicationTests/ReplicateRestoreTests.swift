import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// In-process round trips through the public replicate and restore paths.
@Suite struct ReplicateRestoreTests {
    let directory = "/tmp/baton-node-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    func makeDatabase() throws -> SQLiteConnection {
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        return app
    }

    func rows(_ path: String) throws -> [[String?]] {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        defer { connection.close() }
        return try connection.rows("SELECT id, v FROM t ORDER BY id")
    }

    @Test func withoutDatabaseChecksumsEveryFileIsFlaggedAndStillRestores() async throws {
        let app = try makeDatabase()
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.databaseChecksums = false
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        for round in 1...5 {
            try app.execute("INSERT INTO t(v) VALUES ('\(String(repeating: "y", count: round * 900))')")
            try await replicator.step()
        }
        try await replicator.finish()
        replicator.close()
        app.close()

        let files = try await ReplicaCatalog.files(in: store, headers: false)
        #expect(files.count == 6)
        for file in files {
            let header = try await ReplicaCatalog.header(of: file, in: store)
            #expect(header.hasNoChecksum && header.preApplyChecksum == 0)
            #expect(try await ReplicaCatalog.trailer(of: file, in: store).postApplyChecksum == 0)
        }
        let output = directory + "/restored.db"
        _ = try await Restorer(store: store).restore(to: output, target: .latest, integrity: .full, force: false)
        #expect(try rows(output) == (try rows(directory + "/app.db")))
    }

    /// A database idle for longer than the snapshot interval: the snapshot
    /// it has already shows its state, so none is written (a second under
    /// the same name collided with it, and replication stopped); after a
    /// new commit the scheduled snapshot is written again.
    @Test func anIdleDatabaseGetsNoSecondSnapshotOfTheSameState() async throws {
        let app = try makeDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.snapshotIntervalSeconds = 1
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        try app.execute("INSERT INTO t(v) VALUES ('a')")
        try await replicator.step()
        try await Task.sleep(for: .milliseconds(1100))
        try await replicator.step()  // the scheduled snapshot, at the new transaction
        func snapshots() async throws -> [UInt64] {
            try await ReplicaCatalog.files(in: store, headers: false).filter(\.isSnapshot).map(\.maxTXID)
        }
        let before = try await snapshots()
        try await Task.sleep(for: .milliseconds(1100))
        try await replicator.step()  // idle: nothing to snapshot
        #expect(try await snapshots() == before)
        try app.execute("INSERT INTO t(v) VALUES ('b')")
        try await replicator.step()
        try await Task.sleep(for: .milliseconds(1100))
        try await replicator.step()
        #expect(try await snapshots().count == before.count + 1)
        try await replicator.finish()
        replicator.close()
        app.close()
    }

    /// A snapshot of several MiB (written in runs of consecutive pages),
    /// then files that change scattered pages, grow and shrink the
    /// database: the restored file is byte for byte the source's.
    @Test func aRestoredFileIsTheSourceByteForByte() async throws {
        let app = try makeDatabase()
        try app.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                + "INSERT INTO t(v) SELECT printf('%.*c', 1500, 'a') FROM n")
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        for statement in [
            "UPDATE t SET v = 'scattered' WHERE id % 97 = 0",
            "INSERT INTO t(v) SELECT printf('%.*c', 3000, 'b') FROM t WHERE id < 400",
            "DELETE FROM t WHERE id > 1000", "VACUUM",
            "UPDATE t SET v = 'again' WHERE id % 31 = 0",
        ] {
            try app.execute(statement)
            try await replicator.step()
        }
        try await replicator.finish()
        replicator.close()
        try app.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        app.close()
        let output = directory + "/restored.db"
        let result = try await Restorer(store: store).restore(
            to: output, target: .latest, integrity: .full, force: false)
        #expect(result.pageCount > 300)
        let source = try LocalFile(directory + "/app.db", .read).readAll()
        let restored = try LocalFile(output, .read).readAll()
        #expect(source.count == restored.count)
        #expect(source == restored)
    }

    @Test func everyCommitIsRestorableAtItsTransaction() async throws {
        let app = try makeDatabase()
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        var expected: [UInt64: [[String?]]] = [replicator.stats.txid: []]
        for round in 1...12 {
            try app.execute("INSERT INTO t(v) VALUES ('\(String(repeating: "x", count: round * 700))')")
            if round % 4 == 0 { try app.execute("DELETE FROM t WHERE id = \(round - 2)") }
            try await replicator.step()
            expected[replicator.stats.txid] = try rows(directory + "/app.db")
        }
        try await replicator.finish()
        replicator.close()
        app.close()

        #expect(expected.count == 13)
        for (txid, content) in expected {
            let output = directory + "/at-\(txid).db"
            let result = try await Restorer(store: store).restore(
                to: output, target: .txid(txid), integrity: .full, force: false)
            #expect(result.txid == txid)
            #expect(try rows(output) == content)
        }
    }

    @Test func restoreNeverReplacesAnExistingFileWithoutForce() async throws {
        let app = try makeDatabase()
        try app.execute("INSERT INTO t(v) VALUES ('keep')")
        let store = FileStore(root: directory + "/replica")
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store)
        try await replicator.start()
        replicator.close()
        app.close()
        let output = directory + "/out.db"
        try FileSystem.writeAtomically(Array("precious".utf8), to: output)
        await #expect(throws: BatonError.self) {
            _ = try await Restorer(store: store).restore(to: output, target: .latest, integrity: .quick, force: false)
        }
        #expect(try LocalFile(output, .read).read(at: 0, count: 8) == Array("precious".utf8))
        _ = try await Restorer(store: store).restore(to: output, target: .latest, integrity: .quick, force: true)
        #expect(try rows(output) == [["1", "keep"]])
    }
}
