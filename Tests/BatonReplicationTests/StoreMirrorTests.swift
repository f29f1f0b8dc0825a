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

/// A second store (a DR copy) filled from the primary: restorable on its
/// own, unaffected by what happens to the primary afterwards, and caught up
/// after an outage without the primary ever waiting for it.
@Suite struct StoreMirrorTests {
    let directory = "/tmp/baton-mirror-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    /// Writes `writes` rows to app.db under `epoch`, replicated to `store` (level 1 merging every 20 files).
    func replicate(epoch: UInt64, writes: Int, from first: Int, to store: any ObjectStore) async throws -> UInt64 {
        try FileSystem.makeDirectories(directory)
        let app = try SQLiteConnection(path: directory + "/app.db", create: true)
        defer { app.close() }
        try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)")
        var options = ReplicatorOptions()
        options.epoch = epoch
        options.batchWindowMilliseconds = 0
        options.compactionIntervalsMilliseconds = [3_600_000]
        options.compactionFileThreshold = 20
        let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
        defer { replicator.close() }
        try await replicator.start()
        for row in first..<(first + writes) {
            try app.execute("INSERT INTO t(v) VALUES ('row \(row)')")
            try await replicator.step()
        }
        try await replicator.finish()
        return replicator.sealedTXID
    }

    func restoredRows(from store: any ObjectStore, _ name: String) async throws -> (txid: UInt64, rows: String?) {
        let path = directory + "/" + name
        let result = try await Restorer(store: store).restore(
            to: path, target: .latest, integrity: .full, force: true)
        let connection = try SQLiteConnection(path: path, readOnly: true)
        defer { connection.close() }
        let last = "SELECT count(*) || ':' || (SELECT v FROM t ORDER BY id DESC LIMIT 1) FROM t"
        return (result.txid, try connection.rows(last).first?.first ?? nil)
    }

    func mirror(_ primary: any ObjectStore, _ second: any ObjectStore, retention: Int64 = 24 * 3_600_000)
        -> StoreMirror
    {
        StoreMirror(
            source: primary, target: second, scratchDirectory: directory + "/scratch",
            retention: RetentionPolicy(pointInTimeMilliseconds: retention), log: { _ in })
    }

    @Test func theSecondStoreRestoresWhatThePrimaryHoldsAcrossEpochs() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = FileStore(root: directory + "/primary")
        let second = FileStore(root: directory + "/second")
        let copier = mirror(primary, second)
        _ = try await replicate(epoch: 1, writes: 50, from: 1, to: primary)
        #expect(try await copier.pass(allFolders: true) > 0)
        let last = try await replicate(epoch: 2, writes: 30, from: 51, to: primary)
        try await copier.pass(allFolders: true)
        #expect(copier.published?.txid == last)
        #expect(try await copier.pass(allFolders: true) == 0, "nothing new: nothing copied")

        let fromPrimary = try await restoredRows(from: primary, "a.db")
        let fromSecond = try await restoredRows(from: second, "b.db")
        #expect(fromSecond.txid == last && fromSecond.rows == "80:row 80")
        #expect(fromSecond.rows == fromPrimary.rows)
        // The markers came along (a restore from the second store fences as one from the primary does).
        #expect(try await second.list(prefix: "epochs/").count == 2)
        #expect(try await second.list(prefix: "lease.json").isEmpty)

        // A new copier (a new holder, a restarted process) goes on from the progress kept there.
        let next = mirror(primary, second)
        #expect(try await next.pass(allFolders: true) == 0)
        #expect(next.published?.txid == last)
    }

    @Test func anOutageOfTheSecondStoreIsCaughtUpAndThePrimaryNeverWaits() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let primary = FileStore(root: directory + "/primary")
        let second = OutageStore(FileStore(root: directory + "/second"))
        let copier = mirror(primary, second)
        _ = try await replicate(epoch: 1, writes: 20, from: 1, to: primary)
        try await copier.pass()
        second.down = true
        let last = try await replicate(epoch: 1, writes: 40, from: 21, to: primary)
        await #expect(throws: BatonError.self) { try await copier.pass() }
        #expect(try await restoredRows(from: primary, "a.db").txid == last)
        second.down = false
        // Level-0 files every pass; compactions with the slow folders.
        try await copier.pass()
        #expect(copier.published?.txid == last)
        let fromSecond = try await restoredRows(from: second, "b.db")
        #expect(fromSecond.txid == last && fromSecond.rows == "60:row 60")
    }

    @Test func deletionsInThePrimaryAreNotCopiedAndEncryptedFilesStayEncrypted() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = AgeIdentity.generate()
        let keys = StoreEncryption(recipients: [], identities: [identity])
        let primary = EncryptedStore(FileStore(root: directory + "/primary"), encryption: keys)
        let secondFiles = FileStore(root: directory + "/second")
        let second = EncryptedStore(secondFiles, encryption: keys)
        let copier = mirror(primary, second)
        let last = try await replicate(epoch: 1, writes: 25, from: 1, to: primary)
        try await copier.pass(allFolders: true)
        // Stored as age files in the second store, as in the first.
        for object in try await secondFiles.list(prefix: "ltx/") {
            #expect(try await secondFiles.get(object.key, range: 0..<22) == Array("age-encryption.org/v1\n".utf8))
        }
        // The primary emptied by mistake: the second store keeps everything.
        for object in try await primary.list(prefix: "ltx/") { try await primary.delete(object.key, ifMatch: nil) }
        try await copier.pass(allFolders: true)
        let fromSecond = try await restoredRows(from: second, "b.db")
        #expect(fromSecond.txid == last && fromSecond.rows == "25:row 25")
        // Without the key, the second store's files are as closed as the first's.
        await #expect(throws: BatonError.self) {
            _ = try await Restorer(store: EncryptedStore(secondFiles, encryption: nil)).restore(
                to: directory + "/c.db", target: .latest, integrity: .quick, force: true)
        }
    }
}
