import BatonCore
import BatonSystem

/// A standby's copy of the database, kept at a commit boundary of the
/// holder's history by applying streamed one-transaction LTX files page by page.
///
/// Each batch is checked completely before the database is touched (LTX file
/// checksums, consecutive TXIDs, pre- and post-apply database checksums),
/// then appended to the journal with one fdatasync (`StandbyJournal`: from
/// then on the batch is durable and may be confirmed), then written into the
/// database file without a sync. A checkpoint (every few MiB of journal, and
/// when the copy is closed) syncs the file, records its position in
/// `applied.json` and empties the journal. `open` re-applies the journal's
/// records past the recorded position (pages are whole images, so
/// re-applying is harmless), then re-reads the whole file and compares its
/// checksum with the last record's.
///
/// Not thread-safe; SQLite must not have the file open while it applies.
public final class StandbyDatabase {
    /// The database file.
    public let path: String
    let directory: String
    private var file: LocalFile?
    private var table = PageChecksumTable()
    private var state: StandbyState?
    let log: (String) -> Void

    /// The last applied transaction, or nil when the copy's position is unknown.
    public var txid: UInt64? { state?.txid }
    /// The database checksum after `txid`.
    public var checksum: UInt64? { state?.checksum }

    /// The checksum of every page of the file, kept apply by apply, while
    /// the position is known (a promotion need not read the file for it).
    public var fileTable: PageChecksumTable? { state == nil ? nil : table }
    /// The epoch that wrote the last applied transaction.
    public var epoch: UInt64 { state?.epoch ?? 0 }
    /// The transactions this process applied lately, with the pages each
    /// wrote (a promotion seals those the store lacks from it).
    public private(set) var recent = RecentTransactions()
    /// `recent`, kept across restarts.
    private let recentFile: RecentTransactionsFile
    var statePath: String { directory + "/applied.json" }
    /// An older version's journal of the batch being applied (finished at `open`).
    var redoPath: String { directory + "/redo.batch" }
    var journalPath: String { directory + "/journal" }
    private let journal: StandbyJournal
    /// Batches journaled since the last checkpoint.
    private var batchesSinceCheckpoint = 0

    /// A checkpoint is due past this much journal, or this many batches.
    static let checkpointBytes: Int64 = 4 << 20
    static let checkpointBatches = 1024

    /// Opens the copy at `path` with its records in `directory`: re-applies
    /// what the journal holds past the recorded position and verifies the
    /// file against the result. The position is unknown (nil) when there is
    /// no file, no record, or the file does not match.
    public init(path: String, directory: String, log: @escaping (String) -> Void = { _ in }) throws {
        self.path = path
        self.directory = directory
        self.log = log
        recentFile = RecentTransactionsFile(path: directory + "/recent")
        try FileSystem.makeDirectories(directory)
        journal = try StandbyJournal(path: directory + "/journal")
        guard FileSystem.exists(path), FileSystem.exists(statePath) else {
            if !FileSystem.exists(path) { try? FileSystem.remove(statePath) }
            try? FileSystem.remove(redoPath)
            try journal.reset()
            recentFile.reset()
            return
        }
        let recorded = try StandbyState(decoding: try LocalFile(statePath, .read).readAll(), path: statePath)
        let file = try LocalFile(path, .readWrite)
        self.file = file
        var expected = recorded
        var pending: [DecodedTransaction] = []
        if FileSystem.exists(redoPath) {
            let batch = try FramedBatch.decode(try LocalFile(redoPath, .read).readAll())
            pending += try batch.map { try StandbyDatabase.decode($0) }
        }
        pending += try journal.records().map { try StandbyDatabase.decode($0) }
        // What continues the recorded position, in order (a batch journaled twice counts once).
        var replay: [DecodedTransaction] = []
        for transaction in pending {
            let next = (replay.last?.header.maxTXID ?? recorded.txid) + 1
            if transaction.header.maxTXID < next { continue }
            guard transaction.header.minTXID == next else { break }
            replay.append(transaction)
        }
        if let last = replay.last {
            log("\(path): finishing what was applied after transaction \(recorded.txid) up to \(last.header.maxTXID)")
            try write(replay, to: file, pageSize: recorded.pageSize)
            expected = StandbyState(
                txid: last.header.maxTXID, checksum: last.trailer.postApplyChecksum, pageSize: recorded.pageSize,
                epoch: last.header.nodeID)
        }
        table = try DatabaseFileScanner.scan(file, pageSize: recorded.pageSize) { _, _, _ in }
        guard table.databaseChecksum == expected.checksum else {
            log(
                "\(path): the file's checksum \(LTXFileInfo.hex(table.databaseChecksum)) does not match the recorded \(LTXFileInfo.hex(expected.checksum)) at transaction \(expected.txid); its position is unknown"
            )
            try? FileSystem.remove(redoPath)
            try journal.reset()
            recentFile.reset()
            return
        }
        state = expected
        try checkpoint()
        try? FileSystem.remove(redoPath)
        recent = recentFile.load(endingAt: expected.txid, checksum: expected.checksum)
    }

    /// Checkpoints (best effort: the journal covers a failure) and closes the file.
    public func close() {
        try? checkpoint()
        file = nil
    }

    /// Makes the copy's position its own record: syncs the file, records
    /// the position and empties the journal.
    private func checkpoint() throws {
        guard let current = state, let file else { return }
        try file.sync()
        try record(current)
        try journal.reset()
        batchesSinceCheckpoint = 0
    }

    /// Adopts the file as it is now (after a restore or after stepping down
    /// as holder): reads it, and records it at `txid` when its checksum is
    /// `checksum` (or whatever it is when `checksum` is nil). Returns the checksum.
    @discardableResult
    public func adopt(txid: UInt64, checksum: UInt64?, epoch: UInt64) throws -> UInt64 {
        file = nil
        try? FileSystem.remove(redoPath)
        let opened = try LocalFile(path, .readWrite)
        let pageSize = try DatabaseFileScanner.pageSize(of: opened)
        let scanned = try DatabaseFileScanner.scan(opened, pageSize: pageSize) { _, _, _ in }
        if let checksum, scanned.databaseChecksum != checksum {
            throw BatonError(
                .checksumMismatch,
                "\(path): checksum \(LTXFileInfo.hex(scanned.databaseChecksum)) is not the expected \(LTXFileInfo.hex(checksum)) of transaction \(txid)"
            )
        }
        file = opened
        table = scanned
        recent.reset()
        recentFile.reset()
        try record(StandbyState(txid: txid, checksum: scanned.databaseChecksum, pageSize: pageSize, epoch: epoch))
        try journal.reset()
        batchesSinceCheckpoint = 0
        return scanned.databaseChecksum
    }

    /// Forgets the position (the file is about to be replaced, set aside, or
    /// written by SQLite as a holder's: what was applied is synced first).
    public func forget() {
        try? file?.sync()
        file = nil
        state = nil
        recent.reset()
        recentFile.reset()
        try? FileSystem.remove(statePath)
        try? FileSystem.remove(redoPath)
        try? journal.reset()
        batchesSinceCheckpoint = 0
    }

    /// Applies a batch of consecutive one-transaction (or multi-transaction)
    /// LTX files that continue from `txid`. Throws without touching the file
    /// when any of them does not verify or does not continue the copy.
    public func apply(_ batch: [[UInt8]]) throws {
        guard let current = state, let file else {
            throw BatonError(.gap, "\(path) has no known position to apply transactions to")
        }
        var running = table
        var expectedTXID = current.txid + 1
        var decoded: [DecodedTransaction] = []
        for bytes in batch {
            let transaction = try StandbyDatabase.decode(bytes)
            let header = transaction.header
            guard header.minTXID == expectedTXID else {
                throw BatonError(
                    .gap,
                    "received transactions \(header.minTXID)-\(header.maxTXID) but \(path) is at \(expectedTXID - 1)")
            }
            guard header.nodeID >= current.epoch else {
                throw BatonError(
                    .preconditionFailed,
                    "transaction \(header.minTXID) comes from epoch \(header.nodeID); \(path) already follows epoch \(current.epoch)"
                )
            }
            guard header.pageSize == current.pageSize else {
                throw BatonError(
                    .corrupt, "received pages of \(header.pageSize) bytes; \(path) uses \(current.pageSize)")
            }
            guard !header.hasNoChecksum, header.preApplyChecksum == running.databaseChecksum else {
                throw BatonError(
                    .checksumMismatch,
                    "transaction \(header.minTXID) applies to checksum \(LTXFileInfo.hex(header.preApplyChecksum)); \(path) has \(LTXFileInfo.hex(running.databaseChecksum))"
                )
            }
            for (number, data) in transaction.pages {
                running.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: header.pageSize)
            }
            running.resize(to: header.commitPageCount, pageSize: header.pageSize)
            guard running.databaseChecksum == transaction.trailer.postApplyChecksum else {
                throw BatonError(
                    .checksumMismatch,
                    "after transaction \(header.maxTXID) the checksum would be \(LTXFileInfo.hex(running.databaseChecksum)), the sender says \(LTXFileInfo.hex(transaction.trailer.postApplyChecksum))"
                )
            }
            decoded.append(transaction)
            expectedTXID = header.maxTXID + 1
        }
        guard let last = decoded.last else { return }
        try refuseForeignWAL()
        // Durable from here (one fdatasync); the file is synced at the next checkpoint.
        try journal.append(batch)
        try write(decoded, to: file, pageSize: current.pageSize)
        table = running
        state = StandbyState(
            txid: last.header.maxTXID, checksum: running.databaseChecksum, pageSize: current.pageSize,
            epoch: last.header.nodeID)
        batchesSinceCheckpoint += 1
        if journal.size >= StandbyDatabase.checkpointBytes
            || batchesSinceCheckpoint >= StandbyDatabase.checkpointBatches
        {
            try checkpoint()
        }
        let entries = decoded.map { transaction in
            RecentTransactions.Entry(
                minTXID: transaction.header.minTXID, maxTXID: transaction.header.maxTXID,
                pages: transaction.pages.map(\.0), preApplyChecksum: transaction.header.preApplyChecksum,
                postApplyChecksum: transaction.trailer.postApplyChecksum,
                timestampMilliseconds: transaction.header.timestampMilliseconds)
        }
        for entry in entries { recent.record(entry) }
        recentFile.append(entries, keeping: recent)
    }

    /// A copy is written page by page, never through SQLite: frames in a
    /// WAL beside it mean something wrote to it through SQLite (a killed
    /// holder's app, a stray writer), and SQLite would read them over the
    /// streamed pages. Such a copy follows no history: refused, so that it is
    /// kept aside with its WAL (those writes are not thrown away) and rebuilt.
    private func refuseForeignWAL() throws {
        guard let wal = FileSystem.attributes(path + "-wal"), wal.size > 0 else { return }
        throw BatonError(
            .diverged,
            "\(path)-wal holds \(wal.size) bytes beside the standby copy: something wrote to the copy through SQLite, whose frames would be read over the streamed pages"
        )
    }

    private func record(_ new: StandbyState) throws {
        try FileSystem.writeAtomically(try new.encoded(), to: statePath)
        state = new
    }

    struct DecodedTransaction {
        var header: LTXHeader
        var pages: [(UInt32, [UInt8])]
        var trailer: LTXTrailer
    }

    static func decode(_ bytes: [UInt8]) throws -> DecodedTransaction {
        var decoder = try LTXDecoder(ArrayByteSource(bytes))
        var pages: [(UInt32, [UInt8])] = []
        while let page = try decoder.nextPage() { pages.append((page.pageNumber, page.data)) }
        let trailer = try decoder.finish()
        return DecodedTransaction(header: decoder.header, pages: pages, trailer: trailer)
    }

    /// Writes the newest image of every page of `transactions` and sizes the file (no sync).
    private func write(_ transactions: [DecodedTransaction], to file: LocalFile, pageSize: UInt32) throws {
        var latest: [UInt32: [UInt8]] = [:]
        var floor = UInt32.max
        for transaction in transactions {
            let count = transaction.header.commitPageCount
            if count < floor { floor = count }
            latest = latest.filter { $0.key <= count }
            for (number, data) in transaction.pages { latest[number] = data }
        }
        // A shrink inside the batch zeroes what lies past it, even if the file grows again.
        if Int64(floor) * Int64(pageSize) < (try file.size()) {
            try file.truncate(to: Int64(floor) * Int64(pageSize))
        }
        for number in latest.keys.sorted() {
            try file.write(latest[number]!, at: Int64(number - 1) * Int64(pageSize))
        }
        try file.truncate(to: Int64(transactions.last!.header.commitPageCount) * Int64(pageSize))
    }
}
