import BatonCore
import BatonSQLite
import BatonSystem

extension Replicator {
    /// Reads every page of the state the follower's read transaction sees
    /// (at `position` in the WAL) and returns its checksum table, calling
    /// `visit` with each page in order.
    func readDatabase(
        header: WALHeader?, position: WALPosition?, visit: (UInt32, [UInt8], UInt64) throws -> Void
    ) throws -> PageChecksumTable {
        let geometry = try session.readerGeometry()
        guard pageSize == 0 || geometry.pageSize == pageSize else {
            throw BatonError(
                .unsupportedDatabase,
                "\(databasePath): page size changed from \(pageSize) to \(geometry.pageSize); start a new replica")
        }
        pageSize = geometry.pageSize
        let reader = try DatabasePageReader(
            database: try openDatabaseFile(), pageSize: geometry.pageSize, header: header, upTo: position)
        let lock = DatabaseChecksum.lockPageNumber(pageSize: geometry.pageSize)
        var state = PageChecksumTable()
        if geometry.pageCount > 0 {
            for number in 1...geometry.pageCount where number != lock {
                let data = try reader.page(number)
                let sum = DatabaseChecksum.page(number, data)
                state.set(number, checksum: sum, pageSize: geometry.pageSize)
                try visit(number, data, sum)
            }
        }
        state.resize(to: geometry.pageCount, pageSize: geometry.pageSize)
        return state
    }

    /// The session's long-lived descriptor of the database file.
    func openDatabaseFile() throws -> LocalFile {
        guard let file = session.databaseFile else { throw BatonError(.io, "\(databasePath) is closed") }
        return file
    }

    /// Checksums of the database file alone, ignoring the WAL.
    func databaseFileTable() throws -> PageChecksumTable {
        if let known = knownFileTable(pageCount: try session.readerGeometry().pageCount) { return known }
        return try DatabaseFileScanner.scan(try openDatabaseFile(), pageSize: pageSize) { _, _, _ in }
    }

    /// The state the follower's read transaction sees, from the copy's
    /// record when the WAL adds nothing to the file (a promotion), else
    /// read page by page.
    func readState(header: WALHeader?, transactions: [WALTransaction]) throws -> PageChecksumTable {
        let geometry = try session.readerGeometry()
        if transactions.isEmpty, geometry.pageSize == pageSize || pageSize == 0,
            let known = knownFileTable(pageCount: geometry.pageCount)
        {
            pageSize = geometry.pageSize
            return known
        }
        return try readDatabase(header: header, position: follower.position) { _, _, _ in }
    }

    /// The copy's table when it describes a file of `pageCount` pages.
    private func knownFileTable(pageCount: UInt32) -> PageChecksumTable? {
        guard let known = knownFileTable, known.pageCount == pageCount else { return nil }
        return known
    }

    /// Writes a snapshot of the state at the follower's position as
    /// transaction `txid` (`ltx/9/1-<txid>`), and adopts its checksums.
    func writeSnapshot(txid: UInt64, header walHeader: WALHeader?, position: WALPosition?) throws {
        let geometry = try session.readerGeometry()
        var header = LTXHeader(
            pageSize: geometry.pageSize, commitPageCount: geometry.pageCount, minTXID: 1, maxTXID: txid,
            timestampMilliseconds: Replicator.nowMilliseconds())
        header.nodeID = options.epoch
        applyChecksumFormat(&header)
        if let position {
            header.walSalt1 = position.salt1
            header.walSalt2 = position.salt2
            header.walOffset = Int64(WALHeader.size)
            header.walSize = Int64(position.offset - WALHeader.size)
        }
        var state = PageChecksumTable()
        _ = try pending.write(
            header, level: LTXFileInfo.snapshotLevel,
            pages: { encoder in
                state = try readDatabase(header: walHeader, position: position) { number, data, _ in
                    try encoder.writePage(number, data)
                }
            }, postApply: { state.databaseChecksum })
        table = state
        ownStats.txid = txid
        ownStats.snapshotsWritten += 1
        streaming?.restart(txid: txid, table: state)
        lastSnapshotMilliseconds = header.timestampMilliseconds
        lastSnapshotTXID = txid
    }

    /// The scheduled snapshot: seals what is captured, moves the read
    /// transaction to the end of the WAL (capturing and sealing what came in),
    /// and snapshots that state under the current transaction ID. A snapshot
    /// whose checksum differs from the running one means the replica drifted
    /// from the database; that is logged loudly and the snapshot wins.
    func scheduledSnapshot() throws {
        try seal()
        try handle(try follower.reacquire(captureSink))
        try seal()
        let txid = ownStats.txid
        if txid == lastSnapshotTXID {
            // Nothing was committed since the newest snapshot: it already shows this state (a second
            // one under the same name would collide with it).
            lastSnapshotMilliseconds = Replicator.nowMilliseconds()
            return
        }
        let expected = table.databaseChecksum
        try writeSnapshot(txid: txid, header: try follower.wal.header(), position: follower.position)
        if table.databaseChecksum != expected {
            log(
                "\(databasePath): snapshot at transaction \(txid) does not match the running checksum; the snapshot wins"
            )
        }
    }

    /// After lost continuity: reads the whole database as of the end of the
    /// WAL and seals the pages that differ from the last sealed state as one
    /// transaction. Nothing is sealed when nothing differs.
    func resync() throws {
        try seal()
        ownStats.resyncs += 1
        let (walHeader, position) = try follower.restartAtEnd()
        let geometry = try session.readerGeometry()
        var header = LTXHeader(
            pageSize: pageSize, commitPageCount: geometry.pageCount, minTXID: ownStats.txid + 1,
            maxTXID: ownStats.txid + 1,
            timestampMilliseconds: Replicator.nowMilliseconds())
        header.preApplyChecksum = table.databaseChecksum
        header.nodeID = options.epoch
        applyChecksumFormat(&header)
        if let position {
            header.walSalt1 = position.salt1
            header.walSalt2 = position.salt2
            header.walOffset = Int64(WALHeader.size)
            header.walSize = Int64(position.offset - WALHeader.size)
        }
        let previous = table
        var changed = 0
        var state = PageChecksumTable()
        let written = try pending.write(
            header, level: 0,
            pages: { encoder in
                state = try readDatabase(header: walHeader, position: position) { number, data, sum in
                    if previous.checksum(of: number) != sum {
                        try encoder.writePage(number, data)
                        changed += 1
                    }
                }
            }, postApply: { state.databaseChecksum }, keep: { changed > 0 || state != previous })
        guard let info = written else {
            log("\(databasePath): database matches the replica; nothing was missed")
            return
        }
        log("\(databasePath): stored \(changed) changed pages as transaction \(info.maxTXID)")
        table = state
        ownStats.txid = info.maxTXID
        ownStats.segmentsSealed += 1
        streaming?.restart(txid: info.maxTXID, table: state)
    }
}
