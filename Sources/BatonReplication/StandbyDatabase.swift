import BatonCore
import BatonSystem

/// A standby's copy of the database, kept at a commit boundary of the
/// holder's history by applying streamed one-transaction LTX files page by page.
///
/// Each batch is checked completely before the database is touched (LTX file
/// checksums, consecutive TXIDs, pre- and post-apply database checksums),
/// then journaled (`redo.batch`, fsynced), written into the database file,
/// fsynced, and recorded in `applied.json`; the journal is removed last. A
/// crash at any point leaves either the old state or a journal that `open`
/// re-applies (pages are whole images, so re-applying is harmless). `open`
/// re-reads the whole file and compares its checksum with the record.
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
    /// The epoch that wrote the last applied transaction.
    public var epoch: UInt64 { state?.epoch ?? 0 }
    /// The transactions this process applied lately, with the pages each
    /// wrote (a promotion seals those the store lacks from it).
    public private(set) var recent = RecentTransactions()
    /// `recent`, kept across restarts.
    private let recentFile: RecentTransactionsFile
    var statePath: String { directory + "/applied.json" }
    var redoPath: String { directory + "/redo.batch" }

    /// Opens the copy at `path` with its records in `directory`: finishes an
    /// interrupted batch and verifies the file against the record. The
    /// position is unknown (nil) when there is no file, no record, or the
    /// file does not match its record.
    public init(path: String, directory: String, log: @escaping (String) -> Void = { _ in }) throws {
        self.path = path
        self.directory = directory
        self.log = log
        recentFile = RecentTransactionsFile(path: directory + "/recent")
        try FileSystem.makeDirectories(directory)
        guard FileSystem.exists(path) else {
            try? FileSystem.remove(redoPath)
            try? FileSystem.remove(statePath)
            recentFile.reset()
            return
        }
        guard FileSystem.exists(statePath) else {
            recentFile.reset()
            return
        }
        let recorded = try StandbyState(decoding: try LocalFile(statePath, .read).readAll(), path: statePath)
        let file = try LocalFile(path, .readWrite)
        self.file = file
        var expected = recorded
        if FileSystem.exists(redoPath) {
            let batch = try FramedBatch.decode(try LocalFile(redoPath, .read).readAll())
            let pending = try batch.map { try StandbyDatabase.decode($0) }.filter { $0.header.maxTXID > recorded.txid }
            if let last = pending.last {
                log("\(path): finishing an interrupted batch up to transaction \(last.header.maxTXID)")
                try write(pending, to: file, pageSize: recorded.pageSize)
                expected = StandbyState(
                    txid: last.header.maxTXID, checksum: last.trailer.postApplyChecksum, pageSize: recorded.pageSize,
                    epoch: last.header.nodeID)
            }
        }
        table = try DatabaseFileScanner.scan(file, pageSize: recorded.pageSize) { _, _, _ in }
        guard table.databaseChecksum == expected.checksum else {
            log(
                "\(path): the file's checksum \(LTXFileInfo.hex(table.databaseChecksum)) does not match the recorded \(LTXFileInfo.hex(expected.checksum)) at transaction \(expected.txid); its position is unknown"
            )
            try? FileSystem.remove(redoPath)
            recentFile.reset()
            return
        }
        try record(expected)
        try? FileSystem.remove(redoPath)
        recent = recentFile.load(endingAt: expected.txid, checksum: expected.checksum)
    }

    /// Closes the file.
    public func close() {
        file = nil
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
        return scanned.databaseChecksum
    }

    /// Forgets the position (the file is about to be replaced or set aside).
    public func forget() {
        file = nil
        state = nil
        recent.reset()
        recentFile.reset()
        try? FileSystem.remove(statePath)
        try? FileSystem.remove(redoPath)
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
        try FileSystem.writeAtomically(FramedBatch.encode(batch), to: redoPath)
        try write(decoded, to: file, pageSize: current.pageSize)
        table = running
        try record(
            StandbyState(
                txid: last.header.maxTXID, checksum: running.databaseChecksum, pageSize: current.pageSize,
                epoch: last.header.nodeID))
        try FileSystem.remove(redoPath)
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

    /// Writes the newest image of every page of `transactions` and sizes the file; fsyncs.
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
        try file.sync()
    }
}
