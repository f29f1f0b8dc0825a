import BatonCore
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation
import Synchronization
import Testing

@testable import BatonReplication

#if canImport(Glibc)
    import Glibc
#endif

/// Collects what the replicator streams.
final class CollectingTap: TransactionTap {
    let log = Mutex<[StreamedTransaction]>([])
    let restarts = Mutex<[(UInt64, UInt64)]>([])
    func committed(_ transaction: StreamedTransaction) { log.withLock { $0.append(transaction) } }
    func restarted(txid: UInt64, checksum: UInt64) { restarts.withLock { $0.append((txid, checksum)) } }
    func drain() -> [StreamedTransaction] {
        log.withLock { log in
            let copy = log
            log.removeAll()
            return copy
        }
    }
}

/// The holder's per-commit stream applied to a standby copy, in process.
@Suite struct StandbyStreamTests {
    let directory = "/tmp/baton-standby-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    func rows(_ path: String) throws -> [[String?]] {
        let connection = try SQLiteConnection(path: "file:\(path)?immutable=1", readOnly: true, uri: true)
        defer { connection.close() }
        return try connection.rows("SELECT id, v FROM t ORDER BY id")
    }

    @Test func everyCommitReachesTheStandbyWithTheHoldersTXIDsAndChecksums() async throws {
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.epoch = 3
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        try await replicator.start()
        let tap = CollectingTap()
        replicator.attach(tap: tap)
        #expect(tap.restarts.withLock { $0.map(\.0) } == [replicator.sealedTXID])

        // The standby starts from the store's state and then follows the stream.
        let standbyPath = directory + "/standby.db"
        let restored = try await Restorer(store: store).restore(
            to: standbyPath, target: .latest, integrity: .quick, force: false)
        let logged = Mutex<[String]>([])
        let standby = try StandbyDatabase(
            path: standbyPath, directory: directory + "/standby-state",
            log: { line in logged.withLock { $0.append(line) } })
        #expect(standby.txid == nil)
        try standby.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 3)

        for round in 1...30 {
            try app.execute("INSERT INTO t(v) VALUES ('\(String(repeating: "y", count: round * 300))')")
            if round % 7 == 0 { try app.execute("DELETE FROM t WHERE id < \(round - 3)") }
            if round % 10 == 0 { try app.execute("VACUUM") }  // shrinks the database
            try await replicator.step()
            let batch = tap.drain()
            #expect(batch.allSatisfy { $0.ltx.count > 0 })
            try standby.apply(batch.map(\.ltx))
        }
        try await replicator.finish()
        #expect(logged.withLock { $0.isEmpty })
        #expect(standby.txid == replicator.sealedTXID)
        #expect(standby.checksum == replicator.sealedChecksum)
        #expect(standby.epoch == 3)
        replicator.close()
        app.close()
        #expect(try rows(standbyPath) == (try rows(directory + "/app.db")))
        // The table the copy kept apply by apply (a promotion uses it instead of reading the file) is the file's.
        let scanned = try DatabaseFileScanner.scan(try LocalFile(standbyPath, .read), pageSize: 4096) { _, _, _ in }
        #expect(standby.fileTable == scanned)

        // Reopening re-verifies the file against the record, and keeps the record of what each
        // transaction wrote (a promotion right after a restart seals the store's missing tail from it).
        standby.close()
        let reopened = try StandbyDatabase(path: standbyPath, directory: directory + "/standby-state")
        #expect(reopened.txid == replicator.sealedTXID)
        #expect(reopened.recent.kept.count >= 30 && reopened.recent == standby.recent)
        reopened.close()

        // A record that no longer reaches the copy's position (a torn last line) is dropped.
        let recentPath = directory + "/standby-state/recent"
        let text = try LocalFile(recentPath, .read).readAll()
        try FileSystem.writeAtomically(Array(text.dropLast(5)), to: recentPath)
        let torn = try StandbyDatabase(path: standbyPath, directory: directory + "/standby-state")
        #expect(torn.txid == replicator.sealedTXID)
        #expect(torn.recent.kept.isEmpty)
        #expect(!FileSystem.exists(recentPath))
    }

    /// An app database with a replicator streaming to a tap, and the store's state restored as standby.db.
    func holderAndRestoredCopy() async throws -> (SQLiteConnection, Replicator, CollectingTap, RestoreResult) {
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = FileStore(root: directory + "/replica")
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store)
        try await replicator.start()
        let tap = CollectingTap()
        replicator.attach(tap: tap)
        let standbyPath = directory + "/standby.db"
        let restored = try await Restorer(store: store).restore(
            to: standbyPath, target: .latest, integrity: .quick, force: false)
        return (app, replicator, tap, restored)
    }

    @Test func aBatchThatDoesNotContinueTheCopyIsRefusedAndChangesNothing() async throws {
        let (app, replicator, tap, restored) = try await holderAndRestoredCopy()
        let standbyPath = directory + "/standby.db"
        let standby = try StandbyDatabase(path: standbyPath, directory: directory + "/standby-state")
        try standby.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 0)
        for value in ["a", "b", "c"] {
            try app.execute("INSERT INTO t(v) VALUES ('\(value)')")
            try await replicator.step()
        }
        let batch = tap.drain()
        #expect(batch.count == 3)
        let before = try LocalFile(standbyPath, .read).readAll()

        // Skipping a transaction is a gap.
        #expect(throws: BatonError.self) { try standby.apply([batch[1].ltx]) }
        // A flipped byte fails the file checksum.
        var corrupt = batch[0].ltx
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: BatonError.self) { try standby.apply([corrupt]) }
        #expect(try LocalFile(standbyPath, .read).readAll() == before)
        #expect(standby.txid == restored.txid)

        // A copy that already follows a newer epoch refuses a deposed holder's transactions.
        try standby.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 1)
        #expect(throws: BatonError.self) { try standby.apply(batch.map(\.ltx)) }
        try standby.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 0)

        try standby.apply(batch.map(\.ltx))
        #expect(standby.txid == restored.txid + 3)
        // Applying the same transactions again is refused: they do not continue the copy.
        #expect(throws: BatonError.self) { try standby.apply([batch[2].ltx]) }

        // A WAL with frames beside the copy (a killed app's, a stray writer's) is a copy that
        // follows no history: refused untouched, so that the node keeps it aside and rebuilds.
        try app.execute("INSERT INTO t(v) VALUES ('d')")
        try await replicator.step()
        let next = tap.drain()
        let applied = try LocalFile(standbyPath, .read).readAll()
        try FileSystem.writeAtomically([1, 2, 3], to: standbyPath + "-wal")
        let refusal = #expect(throws: BatonError.self) { try standby.apply(next.map(\.ltx)) }
        #expect(refusal?.code == .diverged)
        #expect(refusal?.message.contains("-wal holds 3 bytes beside the standby copy") == true)
        #expect(try LocalFile(standbyPath, .read).readAll() == applied)
        #expect(standby.txid == restored.txid + 3)
        // An empty WAL (a reader opened the copy) is no write.
        try FileSystem.writeAtomically([], to: standbyPath + "-wal")
        try standby.apply(next.map(\.ltx))
        #expect(standby.txid == restored.txid + 4)
        replicator.close()
        app.close()
    }

    @Test func anInterruptedBatchIsFinishedWhenTheCopyIsOpened() async throws {
        let (app, replicator, tap, restored) = try await holderAndRestoredCopy()
        let standbyPath = directory + "/standby.db"
        var standby: StandbyDatabase? = try StandbyDatabase(path: standbyPath, directory: directory + "/standby-state")
        try standby!.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 0)
        try app.execute("INSERT INTO t(v) VALUES ('" + String(repeating: "z", count: 9000) + "')")
        try await replicator.step()
        let batch = tap.drain()
        standby!.close()
        standby = nil
        // A crash after the journal was written and half the pages landed.
        try FileSystem.writeAtomically(
            FramedBatch.encode(batch.map(\.ltx)), to: directory + "/standby-state/redo.batch")
        let file = try LocalFile(standbyPath, .readWrite)
        try file.write([UInt8](repeating: 0xAB, count: 100), at: 4096 + 200)
        try file.sync()

        let reopened = try StandbyDatabase(path: standbyPath, directory: directory + "/standby-state")
        #expect(reopened.txid == batch.last!.txid)
        #expect(reopened.checksum == batch.last!.postApplyChecksum)
        #expect(!FileSystem.exists(directory + "/standby-state/redo.batch"))
        replicator.close()
        app.close()
    }

    /// The position `applied.json` records.
    func recordedTXID(_ state: String) throws -> UInt64? {
        let bytes = try LocalFile(state + "/applied.json", .read).readAll()
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        return (object?["txid"] as? NSNumber)?.uint64Value
    }

    /// What a crash (a power loss: the file's unsynced writes gone, the journal's last append torn) leaves.
    @Test(arguments: ["file writes lost", "last record torn", "file half written and last record torn"])
    func aCrashBetweenCheckpointsRecoversFromTheJournal(_ crash: String) async throws {
        let (app, replicator, tap, restored) = try await holderAndRestoredCopy()
        let standbyPath = directory + "/standby.db"
        let state = directory + "/standby-state"
        let standby = try StandbyDatabase(path: standbyPath, directory: state)
        try standby.adopt(txid: restored.txid, checksum: restored.checksum, epoch: 0)
        let checkpointed = try LocalFile(standbyPath, .read).readAll()
        var applied: [StreamedTransaction] = []
        for round in 1...5 {
            try app.execute("INSERT INTO t(v) VALUES ('" + String(repeating: "w", count: 3000 * round) + "')")
            try await replicator.step()
            let batch = tap.drain()
            try standby.apply(batch.map(\.ltx))
            applied += batch
        }
        // Five batches, one fdatasync each: the journal holds them, applied.json still the adopted position.
        let journal = try LocalFile(state + "/journal", .read).readAll()
        #expect(journal.count == applied.reduce(0) { $0 + $1.ltx.count + 4 })
        #expect(try recordedTXID(state) == restored.txid)

        // The crash: no close, no checkpoint.
        var survivors = applied
        if crash != "last record torn" {
            // The file as synced at the adopted position, plus part of a later page write.
            try FileSystem.writeAtomically(checkpointed, to: standbyPath)
            if crash.hasPrefix("file half written") {
                try LocalFile(standbyPath, .readWrite).write([UInt8](repeating: 0xCD, count: 700), at: 4096 + 100)
            }
        }
        if crash.hasSuffix("last record torn") {
            try FileSystem.writeAtomically(Array(journal.dropLast(applied.last!.ltx.count / 2)), to: state + "/journal")
            survivors.removeLast()
        }
        let logged = Mutex<[String]>([])
        let reopened = try StandbyDatabase(
            path: standbyPath, directory: state, log: { line in logged.withLock { $0.append(line) } })
        #expect(reopened.txid == survivors.last!.txid)
        #expect(reopened.checksum == survivors.last!.postApplyChecksum)
        #expect(logged.withLock { $0.contains { $0.contains("finishing what was applied") } })
        // Recovered and checkpointed: the journal is empty, the record is the position.
        #expect(try LocalFile(state + "/journal", .read).readAll().isEmpty)
        #expect(try recordedTXID(state) == survivors.last!.txid)
        // And it goes on from there.
        try app.execute("INSERT INTO t(v) VALUES ('after')")
        try await replicator.step()
        var next = tap.drain()
        if crash.hasSuffix("last record torn") { next = [applied.last!] + next }
        try reopened.apply(next.map(\.ltx))
        reopened.close()
        replicator.close()
        app.close()
        #expect(try rows(standbyPath) == (try rows(directory + "/app.db")))
    }
}
