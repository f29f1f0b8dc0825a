import BatonCore
import BatonSystem

/// The database a restore writes, with the checksum of every page applied
/// so far: each LTX file is applied to it on a blocking-work thread, one
/// file at a time (the restore awaits each before the next, so it has one
/// user at a time). Pages that follow each other in the file (a
/// snapshot's, a compaction's runs) go out as one write of up to
/// `runBytes` instead of one per page.
final class RestoreOutput: @unchecked Sendable {
    let file: LocalFile
    private(set) var table = PageChecksumTable()
    private(set) var pageSize: UInt32 = 0
    /// Pages waiting to be written, consecutive from `runStart` (an offset).
    private var run: [UInt8] = []
    private var runStart: Int64 = 0
    /// The largest write a run of consecutive pages becomes.
    static let runBytes = 1 << 20

    init(file: LocalFile) { self.file = file }

    /// Applies the LTX file at `path` (the store's `info`), verifying its
    /// checksums and the database checksums before and after; returns its size.
    func apply(_ path: String, _ info: LTXFileInfo) throws -> Int64 {
        let input = try LocalFile(path, .read)
        var decoder = try LTXDecoder(FileByteSource(input))
        let header = decoder.header
        guard header.minTXID == info.minTXID, header.maxTXID == info.maxTXID else {
            throw BatonError(.corrupt, "its header says transactions \(header.minTXID)-\(header.maxTXID)")
        }
        if pageSize == 0 { pageSize = header.pageSize }
        guard header.pageSize == pageSize else {
            throw BatonError(.corrupt, "page size \(header.pageSize) differs from the snapshot's \(pageSize)")
        }
        if header.isSnapshot {
            table = PageChecksumTable()
            run.removeAll(keepingCapacity: true)
            try file.truncate(to: 0)
        } else if !header.hasNoChecksum && header.preApplyChecksum != table.databaseChecksum {
            throw BatonError(
                .checksumMismatch,
                "it applies to a database with checksum \(LTXFileInfo.hex(header.preApplyChecksum)) but the restored database has \(LTXFileInfo.hex(table.databaseChecksum))"
            )
        }
        while let page = try decoder.nextPage() {
            try write(page.data, at: Int64(page.pageNumber - 1) * Int64(pageSize))
            table.set(page.pageNumber, checksum: DatabaseChecksum.page(page.pageNumber, page.data), pageSize: pageSize)
        }
        let trailer = try decoder.finish()
        try flush()
        table.resize(to: header.commitPageCount, pageSize: pageSize)
        try file.truncate(to: Int64(header.commitPageCount) * Int64(pageSize))
        if !header.hasNoChecksum && trailer.postApplyChecksum != table.databaseChecksum {
            throw BatonError(
                .checksumMismatch,
                "after applying it the database checksum is \(LTXFileInfo.hex(table.databaseChecksum)), the file says \(LTXFileInfo.hex(trailer.postApplyChecksum))"
            )
        }
        return try input.size()
    }

    /// Adds a page at `offset` to the run, writing the run first when the
    /// page does not follow it or it is full.
    private func write(_ page: [UInt8], at offset: Int64) throws {
        if !run.isEmpty, offset != runStart + Int64(run.count) || run.count + page.count > RestoreOutput.runBytes {
            try flush()
        }
        if run.isEmpty {
            runStart = offset
            run.reserveCapacity(RestoreOutput.runBytes)
        }
        run += page
    }

    /// Writes the run (before a truncate, and at the end of every file).
    private func flush() throws {
        guard !run.isEmpty else { return }
        try file.write(run, at: runStart)
        run.removeAll(keepingCapacity: true)
    }
}
