import BatonCore
import BatonStore
import BatonSystem

/// Merges a contiguous run of LTX files into one file at a higher level,
/// keeping the newest version of each page. Verifies each input's file
/// checksum and that each continues the previous one's database checksum;
/// the result goes to the pending directory like any sealed file.
struct Compactor {
    let store: any ObjectStore
    let pending: PendingSegments

    /// Input files downloaded ahead of the one being merged.
    static let downloadsInFlight = 8

    func compact(_ run: [LTXFileInfo], into level: Int) async throws -> LTXFileInfo {
        precondition(!run.isEmpty)
        var spool: PageSpool?
        var first: LTXHeader?
        var last: (header: LTXHeader, trailer: LTXTrailer)?
        // This process's own uploads where it still has them, else downloads, several in flight.
        let inputs = run.map { (info: $0, local: pending.uploaded.path(for: $0)) }
        let (store, scratch) = (self.store, pending.directory)
        try await BoundedConcurrency.pipeline(
            inputs, width: Compactor.downloadsInFlight,
            fetch: { input -> (path: String, isTemporary: Bool) in
                if let local = input.local { return (local, false) }
                return try await store.localCopy(input.info.key, scratchDirectory: scratch)
            },
            consume: { index, copy in
                defer { if copy.isTemporary { try? FileSystem.remove(copy.path) } }
                let info = run[index]
                do {
                    var decoder = try LTXDecoder(FileByteSource(try LocalFile(copy.path, .read)))
                    let header = decoder.header
                    guard header.minTXID == info.minTXID, header.maxTXID == info.maxTXID else {
                        throw BatonError(.corrupt, "its header says transactions \(header.minTXID)-\(header.maxTXID)")
                    }
                    if spool == nil {
                        spool = try PageSpool(path: pending.temporaryPath(), pageSize: header.pageSize)
                        first = header
                    }
                    guard header.pageSize == spool!.pageSize else {
                        throw BatonError(.corrupt, "page size changes inside the run")
                    }
                    if let last, !last.header.hasNoChecksum, !header.hasNoChecksum,
                        header.preApplyChecksum != last.trailer.postApplyChecksum
                    {
                        throw BatonError(
                            .checksumMismatch, "it does not continue the database checksum of the file before it")
                    }
                    while let page = try decoder.nextPage() { try spool!.stage(page.pageNumber, page.data[...]) }
                    spool!.commit(pageCount: header.commitPageCount)
                    last = (header, try decoder.finish())
                } catch let error as BatonError {
                    throw BatonError(error.code, "compacting \(store.displayURL)/\(info.key): \(error.message)")
                }
            },
            discard: { copy in if copy.isTemporary { try? FileSystem.remove(copy.path) } })
        guard let spool, let first, let last else { throw BatonError(.corrupt, "nothing to compact") }
        let noChecksum = first.hasNoChecksum || last.header.hasNoChecksum
        var header = LTXHeader(
            pageSize: spool.pageSize, commitPageCount: last.header.commitPageCount, minTXID: first.minTXID,
            maxTXID: last.header.maxTXID, timestampMilliseconds: last.header.timestampMilliseconds)
        header.flags = noChecksum ? LTXHeader.flagNoChecksum : 0
        header.preApplyChecksum = noChecksum || first.isSnapshot ? 0 : first.preApplyChecksum
        header.nodeID = last.header.nodeID
        return try pending.write(
            header, level: level,
            pages: { encoder in
                for number in spool.pageNumbers(endingAt: header.commitPageCount) {
                    try encoder.writePage(number, try spool.page(number))
                }
            }, postApply: { last.trailer.postApplyChecksum })
    }
}
