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

/// The files a fenced holder kept unconfirmed, read back as the record of
/// what its copy adds to the store.
@Suite struct SealedTransactionsTests {
    let directory = "/tmp/baton-sealed-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    @Test func theUnconfirmedFilesOfOneEpochAreAContinuousRecord() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.makeDirectories(directory)
        let path = directory + "/app.db"
        let app = try SQLiteConnection(path: path, create: true)
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = 0
        options.epoch = 6
        let store = FileStore(root: directory + "/replica")
        let replicator = try Replicator(databasePath: path, store: store, options: options)
        try await replicator.start()
        let stored = replicator.sealedTXID
        // Sealed, never uploaded (the store is unreachable as far as this holder knows).
        for round in 1...5 {
            try app.execute("INSERT INTO t(v) VALUES ('\(round)')")
            try replicator.stepLocally()
        }
        let sealed = try FileSystem.list(replicator.pendingDirectory).filter { $0.hasPrefix("0_") }
        #expect(sealed.count == 5)
        let last = (replicator.sealedTXID, replicator.sealedChecksum)
        replicator.close()
        app.close()

        let recent = SealedTransactions.record(inFolders: [replicator.pendingDirectory], epoch: 6)
        let tail = try #require(recent.tail(after: stored))
        #expect(tail.minTXID == stored + 1 && tail.maxTXID == last.0 && tail.postApplyChecksum == last.1)
        #expect(!tail.pages.isEmpty)
        // Another epoch's files are not this term's record.
        #expect(SealedTransactions.record(inFolders: [replicator.pendingDirectory], epoch: 7).kept.isEmpty)
        // A file that does not verify is left out, and the record starts over after the hole.
        let third = replicator.pendingDirectory + "/" + sealed.sorted()[2]
        var bytes = try LocalFile(third, .read).readAll()
        bytes[bytes.count - 1] ^= 0xFF
        try FileSystem.writeAtomically(bytes, to: third)
        let broken = SealedTransactions.record(inFolders: [replicator.pendingDirectory], epoch: 6)
        #expect(broken.tail(after: stored) == nil)
        #expect(broken.kept.first?.minTXID == stored + 4)
    }
}
