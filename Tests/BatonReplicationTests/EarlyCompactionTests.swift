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

/// When each write is its own file (every write waits for the store),
/// level 1 must not wait for its interval: past a threshold of uploaded
/// level-0 files it merges them, from the local copies it kept (no
/// downloads), and a restore then fetches a few merged files instead of
/// every write's.
@Suite struct EarlyCompactionTests {
    let directory = "/tmp/baton-early-compaction-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    @Test func manySmallFilesAreMergedEarlyWithoutDownloadingThem() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = CountingStore(FileStore(root: directory + "/replica"))
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.compactionIntervalsMilliseconds = [3_600_000]
        options.compactionFileThreshold = 40
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        // The first pass compacts at once (level 1 never ran); from then on only the threshold can trigger it.
        try app.execute("INSERT INTO t(v) VALUES ('first')")
        try await replicator.step()
        let compactionsBefore = replicator.stats.compactions
        let downloadsBefore = store.downloads

        for round in 1...100 {
            try app.execute("INSERT INTO t(v) VALUES ('\(round)')")
            try await replicator.step()
        }
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        let merged = files.filter { $0.level == 1 }
        // 100 single-write files past a threshold of 40: merged twice, well before the hour.
        #expect(replicator.stats.compactions - compactionsBefore == 2)
        #expect(merged.count >= 2)
        #expect(store.downloads == downloadsBefore)

        // The latest state restores from the merged files, not from a hundred segments.
        let result = try await Restorer(store: store).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(result.filesApplied < 30)
        let restored = try SQLiteConnection(path: directory + "/restored.db")
        #expect(try restored.rows("SELECT count(*) FROM t").first?.first == "101")
        restored.close()
        try await replicator.finish()
        replicator.close()
        app.close()
    }

    @Test func aCompactionPassListsWhatCameSinceTheLevelReachedNotTheWholeReplica() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        defer { app.close() }
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = CountingStore(FileStore(root: directory + "/replica"))
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.compactionIntervalsMilliseconds = [3_600_000]
        options.compactionFileThreshold = 40
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        defer { replicator.close() }
        try await replicator.start()
        func write(_ count: Int) async throws {
            for round in 1...count {
                try app.execute("INSERT INTO t(v) VALUES ('\(round)')")
                try await replicator.step()
            }
        }
        try await write(200)
        let (listedBefore, compactionsBefore) = (store.listedKeys, replicator.stats.compactions)
        try await write(40)
        #expect(replicator.stats.compactions == compactionsBefore + 1)
        // The replica holds 240 level-0 files; the pass listed the 40 new ones and where level 1 was.
        let listed = store.listedKeys - listedBefore
        let total = try await store.list(prefix: "ltx/").count
        #expect(total > 240)
        #expect(listed <= 45, "listed \(listed) of \(total)")
        try await replicator.finish()
    }
}
