import BatonCore
import BatonSystem

/// A holder that fenced itself kept the files it had sealed but the store
/// never confirmed (`unconfirmed-*` folders). If it takes the baton back
/// while the store still ends where they begin, those files record exactly
/// what its copy has that the store lacks: read as `RecentTransactions`, they
/// let the new term seal that tail from the copy (proven by the checksums,
/// as for a promoted standby) instead of writing a snapshot of the whole database.
public enum SealedTransactions {
    /// The level-0 files in `folders` written under `epoch`, as a record of
    /// transactions (a file that does not continue the ones before it starts
    /// the record over; an unreadable or corrupt file is skipped).
    public static func record(inFolders folders: [String], epoch: UInt64) -> RecentTransactions {
        var found: [RecentTransactions.Entry] = []
        for folder in folders {
            guard let names = try? FileSystem.list(folder) else { continue }
            // Sealed files are named `<level>_<min>-<max>.ltx`: level 0 only (a merged file repeats them).
            for name in names where name.hasPrefix("0_") && name.hasSuffix(".ltx") {
                if let entry = try? entry(of: folder + "/" + name, epoch: epoch) { found.append(entry) }
            }
        }
        var recent = RecentTransactions()
        var last: UInt64 = 0
        for entry in found.sorted(by: { $0.minTXID < $1.minTXID }) where entry.minTXID > last {
            recent.record(entry)
            last = entry.maxTXID
        }
        return recent
    }

    /// The entry of one sealed file; nil when it is not a level-0 file of `epoch`.
    private static func entry(of path: String, epoch: UInt64) throws -> RecentTransactions.Entry? {
        let file = try LocalFile(path, .read)
        let header = try LTXHeader(decoding: try file.read(at: 0, count: LTXHeader.size))
        guard header.nodeID == epoch, !header.isSnapshot, !header.hasNoChecksum else { return nil }
        var decoder = try LTXDecoder(FileByteSource(file))
        var pages: [UInt32] = []
        while let page = try decoder.nextPage() { pages.append(page.pageNumber) }
        // Verifies the file's own checksum.
        let trailer = try decoder.finish()
        return RecentTransactions.Entry(
            minTXID: header.minTXID, maxTXID: header.maxTXID, pages: pages,
            preApplyChecksum: header.preApplyChecksum, postApplyChecksum: trailer.postApplyChecksum,
            timestampMilliseconds: header.timestampMilliseconds)
    }
}
