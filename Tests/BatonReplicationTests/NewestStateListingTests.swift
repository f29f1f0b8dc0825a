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

/// A replica keeps every level-0 file of its retention window; a restore of
/// the newest state (a standby's rebuild, a new holder's start) lists only
/// what comes after the last compactions, and fences a deposed holder's late
/// files by the `epochs/` markers.
@Suite struct NewestStateListingTests {
    let directory = "/tmp/baton-newest-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    /// Epoch 1 writes 200 single-write files (level 1 merging every 40), then
    /// epoch 2 continues with 60 more. Returns the store and the last TXID.
    func twoEpochs() async throws -> (FileStore, UInt64) {
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        defer { app.close() }
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = FileStore(root: directory + "/replica")
        var last: UInt64 = 0
        for (epoch, writes) in [(UInt64(1), 200), (2, 60)] {
            var options = ReplicatorOptions()
            options.epoch = epoch
            options.batchWindowMilliseconds = 0
            options.compactionIntervalsMilliseconds = [3_600_000]
            options.compactionFileThreshold = 40
            let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
            defer { replicator.close() }
            try await replicator.start()
            for round in 1...writes {
                try app.execute("INSERT INTO t(v) VALUES ('\(epoch)-\(round)')")
                try await replicator.step()
            }
            try await replicator.finish()
            #expect(replicator.stats.snapshotsWritten == (epoch == 1 ? 1 : 0))
            last = replicator.sealedTXID
        }
        return (store, last)
    }

    func rowCount(_ path: String) throws -> String? {
        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        return try connection.rows("SELECT count(*) FROM t").first?.first ?? nil
    }

    @Test func theNewestStateIsRestoredWithoutListingTheWholeHistory() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, last) = try await twoEpochs()
        let total = try await store.list(prefix: "ltx/").count
        let counting = CountingStore(store)
        let newest = try await ReplicaCatalog.newest(in: counting)
        #expect(!newest.listedWhole)
        #expect(newest.epochStarts.keys.sorted() == [1, 2])
        #expect(newest.live.map(\.maxTXID).max() == last)
        #expect(counting.listedKeys * 3 < total, "listed \(counting.listedKeys) of \(total) keys")
        // Only the levels that hold files are listed (here 9, 1 and 0), not the empty ones between.
        let levels = counting.listedPrefixes.filter { $0.hasPrefix("ltx/") }
        #expect(levels == ["ltx/9/", "ltx/1/", "ltx/0/"], "listed \(levels)")

        let restored = try await Restorer(store: counting).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        // The same state a plan from the whole listing reaches.
        let whole = try RestorePlan.make(
            files: try await ReplicaCatalog.files(in: store, headers: true), target: .latest)
        #expect(restored.txid == last && whole.targetTXID == last)
        #expect(restored.timings.wholeListingReason == nil)
        #expect(try rowCount(directory + "/restored.db") == "260")
        #expect(try rowCount(directory + "/restored.db") == (try rowCount(directory + "/app.db")))
    }

    @Test func aDeposedHoldersLateFileIsFencedByTheMarkersAndAnUnmarkedEpochIsListedWhole() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, last) = try await twoEpochs()
        // Epoch 1, deposed when 2 started, uploads late: a file past the newest state.
        var header = LTXHeader(
            pageSize: 4096, commitPageCount: 2, minTXID: last + 1, maxTXID: last + 5, timestampMilliseconds: 1)
        header.nodeID = 1
        let late = LTXFileInfo(level: 0, minTXID: last + 1, maxTXID: last + 5)
        try await store.put(
            late.key, data: header.encoded() + [UInt8](repeating: 0, count: 16), condition: .ifNoneMatch)

        let newest = try await ReplicaCatalog.newest(in: store)
        #expect(!newest.listedWhole)
        #expect(newest.files.contains { $0.key == late.key })
        #expect(!newest.live.contains { $0.key == late.key })
        #expect(newest.live.map(\.maxTXID).max() == last)
        let restored = try await Restorer(store: store).restore(
            to: directory + "/restored.db", target: .latest, integrity: .quick, force: false)
        #expect(restored.txid == last)

        // A replica written before markers (here: epoch 2's removed) is listed whole, and fenced as before.
        let marker = try #require(try await store.list(prefix: "epochs/").first { EpochStart(key: $0.key)?.epoch == 2 })
        try await store.delete(marker.key, ifMatch: nil)
        let unmarked = try await ReplicaCatalog.newest(in: store)
        #expect(unmarked.listedWhole)
        #expect(unmarked.wholeListingReason?.contains("of epoch 2, which has no epochs/ marker") == true)
        #expect(unmarked.live.map(\.maxTXID).max() == last)
        let again = try await Restorer(store: store).restore(
            to: directory + "/again.db", target: .latest, integrity: .quick, force: false)
        #expect(again.txid == last)
        // Whoever rebuilt says why it listed everything (the rebuild's log line).
        #expect(again.timings.summary.contains("listed the whole replica: ltx/"))
    }

    /// Seen in a chaos run: a standby's rebuild read the markers, a new holder marked its epoch
    /// and uploaded its first file, the rebuild listed that file and listed the whole replica
    /// (33 s on moto) because the file's epoch had "no marker".
    @Test func aNewEpochMarkedJustAfterTheMarkersWereReadIsNotAReasonToListEverything() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, last) = try await twoEpochs()
        let total = try await store.list(prefix: "ltx/").count
        let late = LateMarkerStore(store, hidingOnceTheMarkerOf: 2)
        let counting = CountingStore(late)
        let newest = try await ReplicaCatalog.newest(in: counting)
        #expect(!newest.listedWhole, "\(newest.wholeListingReason ?? "")")
        #expect(late.markerListingCount == 2)
        #expect(newest.epochStarts.keys.sorted() == [1, 2])
        #expect(newest.live.map(\.maxTXID).max() == last)
        #expect(counting.listedKeys * 3 < total, "listed \(counting.listedKeys) of \(total) keys")

        // The same through a restore, which reads the markers first itself.
        let again = LateMarkerStore(store, hidingOnceTheMarkerOf: 2)
        let restored = try await Restorer(store: again).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(restored.txid == last)
        #expect(restored.timings.wholeListingReason == nil)
        #expect(try rowCount(directory + "/restored.db") == "260")
    }
}
