import BatonCore
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation
import Testing

@testable import BatonReplication

#if canImport(Glibc)
    import Glibc
#endif

/// A promoted standby whose copy is ahead of the store seals the missing
/// transactions as one file, but only when its record proves the copy
/// continues the store's newest state; otherwise it writes a snapshot as before.
@Suite struct CopyTailTests {
    let directory = "/tmp/baton-copy-tail-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    /// A replica at some state, then the database moved on without it (as a
    /// standby's copy does ahead of a lagging store): returns the store, the
    /// store's newest TXID and checksum, and the copy's checksum and page count.
    func copyAheadOfTheStore(epoch: UInt64 = 0) async throws -> (FileStore, UInt64, UInt64, UInt64, UInt32) {
        try FileSystem.makeDirectories(directory)
        let path = directory + "/app.db"
        let app = try SQLiteConnection(path: path, create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        let store = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.epoch = epoch
        let replicator = try Replicator(databasePath: path, store: store, options: options)
        try await replicator.start()
        for round in 1...3 {
            try app.execute("INSERT INTO t(v) VALUES ('stored \(round)')")
            try await replicator.step()
        }
        try await replicator.finish()
        replicator.close()
        for round in 1...20 {
            try app.execute("INSERT INTO t(v) VALUES ('\(String(repeating: "x", count: 500)) \(round)')")
        }
        _ = try app.checkpoint(.truncate)
        let pageCount = try app.rows("PRAGMA page_count").first?.first ?? nil
        let pages = try #require(pageCount.flatMap { UInt32($0) })
        app.close()
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        let latest = try #require(files.max { $0.maxTXID < $1.maxTXID })
        let trailer = try await ReplicaCatalog.trailer(of: latest, in: store)
        let file = try LocalFile(path, .read)
        return (store, latest.maxTXID, trailer.postApplyChecksum, try DatabaseFileChecksum.compute(file), pages)
    }

    /// A record of twenty transactions after `storeTXID` (any superset of the pages written will do).
    func record(after storeTXID: UInt64, pages: UInt32, pre: UInt64, post: UInt64) -> RecentTransactions {
        var recent = RecentTransactions()
        recent.record(
            .init(
                minTXID: storeTXID + 1, maxTXID: storeTXID + 20, pages: Array(1...pages), preApplyChecksum: pre,
                postApplyChecksum: post, timestampMilliseconds: 1))
        return recent
    }

    func promote(
        _ store: FileStore, tail: RecentTransactions?, epoch: UInt64 = 2, knownTable: PageChecksumTable? = nil
    ) async throws -> ReplicatorStats {
        var options = ReplicatorOptions()
        options.epoch = epoch
        options.enableWAL = true
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        replicator.copyTail = tail
        replicator.knownFileTable = knownTable
        try await replicator.start()
        try await replicator.finish()
        defer { replicator.close() }
        return replicator.stats
    }

    @Test func aCopyThatContinuesTheStoreIsSealedAsOneFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, storeTXID, storeChecksum, copyChecksum, pages) = try await copyAheadOfTheStore()
        let recent = record(after: storeTXID, pages: pages, pre: storeChecksum, post: copyChecksum)
        let stats = try await promote(store, tail: recent)
        #expect(stats.snapshotsWritten == 0)
        let files = try await ReplicaCatalog.files(in: store, headers: true)
        let sealed = try #require(files.first { $0.minTXID == storeTXID + 1 })
        #expect(sealed.level == 0 && sealed.maxTXID == storeTXID + 20 && sealed.epoch == 2)
        let restored = try await Restorer(store: store).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(restored.txid == storeTXID + 20 && restored.checksum == copyChecksum)
    }

    @Test func aDeposedHoldersLateUploadPastTheCopyIsNotTheStoresPosition() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Epoch 4 wrote the store; the copy followed it further.
        let (store, storeTXID, storeChecksum, copyChecksum, pages) = try await copyAheadOfTheStore(epoch: 4)
        // Epoch 3, deposed when 4 started, uploaded late: its file ends past the copy.
        var late = LTXHeader(
            pageSize: 4096, commitPageCount: pages, minTXID: storeTXID + 1, maxTXID: storeTXID + 30,
            timestampMilliseconds: 1)
        late.nodeID = 3
        let lateKey = LTXFileInfo(level: 0, minTXID: storeTXID + 1, maxTXID: storeTXID + 30).key
        let lateFile = late.encoded() + [UInt8](repeating: 0, count: 16)
        _ = try await store.put(lateKey, data: lateFile, condition: .ifNoneMatch)

        let recent = record(after: storeTXID, pages: pages, pre: storeChecksum, post: copyChecksum)
        let stats = try await promote(store, tail: recent, epoch: 5)
        // The store's position is epoch 4's last file: the copy continues it, no snapshot.
        #expect(stats.snapshotsWritten == 0)
        let restored = try await Restorer(store: store).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(restored.txid == storeTXID + 20 && restored.checksum == copyChecksum)
    }

    /// A promotion takes the page checksums its copy kept instead of
    /// reading the file; one that does not describe the file (it cannot
    /// happen unless something wrote the file behind the copy's back) is
    /// refused by the checksums and a snapshot, read from the file, follows.
    @Test(arguments: [true, false])
    func theCopysKeptTableSavesTheReadAndAWrongOneEndsInASnapshot(right: Bool) async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, storeTXID, storeChecksum, copyChecksum, pages) = try await copyAheadOfTheStore()
        var table = try DatabaseFileScanner.scan(try LocalFile(directory + "/app.db", .read), pageSize: 4096) {
            _, _, _ in
        }
        #expect(table.databaseChecksum == copyChecksum)
        if !right { table.set(2, checksum: 12345, pageSize: 4096) }
        let recent = record(after: storeTXID, pages: pages, pre: storeChecksum, post: copyChecksum)
        let stats = try await promote(store, tail: recent, knownTable: table)
        #expect(stats.snapshotsWritten == (right ? 0 : 1))
        let restored = try await Restorer(store: store).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(restored.checksum == copyChecksum)
    }

    @Test(arguments: [true, false])
    func aRecordThatDoesNotProveTheCopyFallsBackToASnapshot(wrongEnd: Bool) async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, storeTXID, storeChecksum, copyChecksum, pages) = try await copyAheadOfTheStore()
        // The record ends elsewhere than the copy, or starts elsewhere than the store's newest state.
        let recent = record(
            after: storeTXID, pages: pages, pre: wrongEnd ? storeChecksum : storeChecksum ^ 1,
            post: wrongEnd ? copyChecksum ^ 1 : copyChecksum)
        let stats = try await promote(store, tail: recent)
        #expect(stats.snapshotsWritten == 1)
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        #expect(!files.contains { $0.minTXID == storeTXID + 1 && $0.maxTXID == storeTXID + 20 })
    }
}
