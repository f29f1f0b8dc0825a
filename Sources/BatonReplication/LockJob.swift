import BatonCore
import BatonSQLite
import BatonStore
import BatonSystem

/// `baton lock`'s data steps around the job: bring the local database to the
/// replica's latest state (moving nothing when it already is), and afterwards
/// push what the job changed as one LTX file stamped with the lease epoch —
/// one object, so a push is all or nothing.
public struct LockJob {
    let store: any ObjectStore
    let databasePath: String
    let log: (String) -> Void

    /// A job on `databasePath` against `store`.
    public init(store: any ObjectStore, databasePath: String, log: @escaping (String) -> Void) {
        self.store = store
        self.databasePath = databasePath
        self.log = log
    }

    /// The state the job starts from.
    public struct Base: Sendable {
        /// Transaction the local database is at (0: the replica is empty).
        public var txid: UInt64
        /// Page checksums of that state.
        public var table: PageChecksumTable
    }

    /// Folds the WAL into the database file (nobody else uses it now).
    func checkpoint() throws {
        guard FileSystem.exists(databasePath) else { return }
        let connection = try SQLiteConnection(path: databasePath)
        defer { connection.close() }
        connection.setBusyTimeout(milliseconds: 10_000)
        _ = try connection.scalar("PRAGMA journal_mode=WAL")
        _ = try connection.checkpoint(.truncate)
    }

    func localTable() throws -> PageChecksumTable? {
        guard FileSystem.exists(databasePath) else { return nil }
        try checkpoint()
        let file = try LocalFile(databasePath, .read)
        return try DatabaseFileScanner.scan(file, pageSize: try DatabaseFileScanner.pageSize(of: file)) { _, _, _ in }
    }

    /// Makes the local file equal the replica's latest state.
    public func prepare() async throws -> Base {
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        guard let latest = files.max(by: { ($0.maxTXID, -$0.level) < ($1.maxTXID, -$1.level) }) else {
            log(
                "\(store.displayURL) is empty; the job starts from \(FileSystem.exists(databasePath) ? databasePath : "an empty database")"
            )
            return Base(txid: 0, table: try localTable() ?? PageChecksumTable())
        }
        let trailer = try await ReplicaCatalog.trailer(of: latest, in: store)
        if let table = try localTable(), trailer.postApplyChecksum != 0,
            table.databaseChecksum == trailer.postApplyChecksum
        {
            log("\(databasePath) is already at transaction \(latest.maxTXID); nothing to download")
            return Base(txid: latest.maxTXID, table: table)
        }
        for suffix in ["-wal", "-shm"] { try FileSystem.remove(databasePath + suffix) }
        let result = try await Restorer(store: store).restore(
            to: databasePath, target: .latest, integrity: .quick, force: true)
        log("restored \(databasePath) to transaction \(result.txid)")
        guard let table = try localTable() else { throw BatonError(.io, "\(databasePath) vanished after the restore") }
        return Base(txid: result.txid, table: table)
    }

    /// Pushes the job's changes as transaction `base.txid + 1`, stamped with
    /// `epoch`, if `stillHolder()` says the lease is still ours right before
    /// the upload. Returns the new transaction, or nil when nothing changed.
    public func push(from base: Base, epoch: UInt64, stillHolder: () async -> Bool) async throws -> UInt64? {
        try checkpoint()
        let file = try LocalFile(databasePath, .read)
        let pageSize = try DatabaseFileScanner.pageSize(of: file)
        let pageCount = UInt32(try file.size() / Int64(pageSize))
        let txid = base.txid + 1
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: pageCount, minTXID: base.txid == 0 ? 1 : txid, maxTXID: txid,
            timestampMilliseconds: Replicator.nowMilliseconds())
        header.preApplyChecksum = base.txid == 0 ? 0 : base.table.databaseChecksum
        header.nodeID = epoch
        let level = base.txid == 0 ? LTXFileInfo.snapshotLevel : 0
        let info = LTXFileInfo(level: level, minTXID: header.minTXID, maxTXID: txid)
        let temporary = FileSystem.temporaryPath(next: databasePath)
        defer { try? FileSystem.remove(temporary) }
        var changed = 0
        var final = PageChecksumTable()
        try LTXFileWriter.write(
            to: temporary, header: header,
            pages: { encoder in
                final = try DatabaseFileScanner.scan(file, pageSize: pageSize) { number, data, sum in
                    if base.txid == 0 || base.table.checksum(of: number) != sum {
                        try encoder.writePage(number, data)
                        changed += 1
                    }
                }
            }, postApply: { final.databaseChecksum })
        if base.txid > 0 && final == base.table {
            log("the job changed nothing; nothing to push")
            return nil
        }
        guard await stillHolder() else {
            throw BatonError(.preconditionFailed, "the lease was lost before the push; nothing was pushed")
        }
        do {
            try await store.upload(info.key, fromFile: temporary, condition: .ifNoneMatch)
        } catch let error as BatonError where error.code == .preconditionFailed {
            // Someone wrote this transaction: only a fenced (older-epoch) write may be replaced.
            let existing = try await ReplicaCatalog.header(of: info, in: store)
            guard existing.nodeID < epoch,
                let object = try await store.list(prefix: info.key).first(where: { $0.key == info.key })
            else {
                throw BatonError(
                    .preconditionFailed,
                    "\(store.displayURL)/\(info.key) was written by epoch \(existing.nodeID); this job (epoch \(epoch)) pushes nothing"
                )
            }
            try await store.upload(info.key, fromFile: temporary, condition: .ifMatch(object.etag))
        }
        log("pushed \(changed) changed pages as transaction \(txid) (epoch \(epoch))")
        return txid
    }
}
