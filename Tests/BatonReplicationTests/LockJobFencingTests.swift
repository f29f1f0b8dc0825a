import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two holders race to push the same transaction (the first lost its lease
/// while uploading): the higher epoch's file always ends up stored.
@Suite struct LockJobFencingTests {
    let directory = "/tmp/baton-fence-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    /// A job that pulled the replica's state (`prepare`) and then inserted `value`.
    func job(_ name: String, _ store: FileStore, value: String) async throws -> (LockJob, LockJob.Base) {
        let path = directory + "/\(name).db"
        let job = LockJob(store: store, databasePath: path) { _ in }
        let base = try await job.prepare()
        let connection = try SQLiteConnection(path: path, create: true)
        try connection.execute(
            "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(v TEXT); INSERT INTO t VALUES ('\(value)')")
        connection.close()
        return (job, base)
    }

    func stored(_ store: FileStore, txid: UInt64) async throws -> UInt64 {
        try await ReplicaCatalog.header(of: LTXFileInfo(level: 0, minTXID: txid, maxTXID: txid), in: store).nodeID
    }

    /// A replica at transaction 1 and two jobs that both pulled it.
    func race() async throws -> (FileStore, old: (LockJob, LockJob.Base), new: (LockJob, LockJob.Base)) {
        try FileSystem.makeDirectories(directory)
        let store = FileStore(root: directory + "/replica")
        let (seed, seedBase) = try await job("seed", store, value: "base")
        _ = try await seed.push(from: seedBase, epoch: 1) { true }
        return (store, try await job("old", store, value: "x"), try await job("new", store, value: "y"))
    }

    @Test func aLowerEpochNeverReplacesAHigherOne() async throws {
        let (store, (old, oldBase), (new, newBase)) = try await race()
        #expect(try await new.push(from: newBase, epoch: 3) { true } == 2)
        await #expect(throws: BatonError.self) { _ = try await old.push(from: oldBase, epoch: 2) { true } }
        #expect(try await stored(store, txid: 2) == 3)
    }

    @Test func aHigherEpochReplacesAFencedLateWrite() async throws {
        let (store, (old, oldBase), (new, newBase)) = try await race()
        #expect(try await old.push(from: oldBase, epoch: 2) { true } == 2)
        #expect(try await new.push(from: newBase, epoch: 3) { true } == 2)
        #expect(try await stored(store, txid: 2) == 3)
        let restored = directory + "/restored.db"
        _ = try await Restorer(store: store).restore(to: restored, target: .latest, integrity: .full, force: false)
        let connection = try SQLiteConnection(path: restored, readOnly: true)
        defer { connection.close() }
        #expect(try connection.rows("SELECT v FROM t ORDER BY v") == [["base"], ["y"]])
    }

    @Test func noPushWithoutTheLease() async throws {
        try FileSystem.makeDirectories(directory)
        let store = FileStore(root: directory + "/replica")
        let (lost, base) = try await job("lost", store, value: "z")
        await #expect(throws: BatonError.self) { _ = try await lost.push(from: base, epoch: 1) { false } }
        #expect(try await store.list(prefix: "ltx/").isEmpty)
    }
}
