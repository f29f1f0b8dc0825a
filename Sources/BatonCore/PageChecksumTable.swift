/// The checksum of every page of one database state, and their XOR.
///
/// Keeps 8 bytes per page (2 MiB for a 1 GiB database with 4 KiB pages) so
/// the database checksum can be updated from the changed pages alone, without
/// reading the old page contents back.
public struct PageChecksumTable: Sendable, Equatable {
    private var checksums: [UInt64] = []
    private var combined: UInt64 = 0

    /// An empty database.
    public init() {}

    /// Number of pages in the database.
    public var pageCount: UInt32 { UInt32(checksums.count) }

    /// The database checksum (flag set), as stored in LTX headers and trailers.
    public var databaseChecksum: UInt64 { DatabaseChecksum.flag | combined }

    /// The stored checksum of one page, or nil past the end.
    public func checksum(of pageNumber: UInt32) -> UInt64? {
        let index = Int(pageNumber) - 1
        guard index >= 0, index < checksums.count else { return nil }
        return checksums[index]
    }

    /// Records that `pageNumber` now holds data with checksum `pageChecksum`.
    /// Pages between the old end and `pageNumber` count as zero-filled.
    public mutating func set(_ pageNumber: UInt32, checksum pageChecksum: UInt64, pageSize: UInt32) {
        let index = Int(pageNumber) - 1
        if index == checksums.count {
            checksums.append(pageChecksum)
            combined ^= pageChecksum
            return
        }
        if index > checksums.count { grow(to: pageNumber, pageSize: pageSize) }
        combined ^= checksums[index] ^ pageChecksum
        checksums[index] = pageChecksum
    }

    /// Shrinks or grows the database to `pageCount` pages; new pages hold zeros.
    public mutating func resize(to pageCount: UInt32, pageSize: UInt32) {
        if pageCount > self.pageCount {
            grow(to: pageCount, pageSize: pageSize)
            return
        }
        while checksums.count > Int(pageCount) {
            combined ^= checksums.removeLast()
        }
    }

    private mutating func grow(to pageCount: UInt32, pageSize: UInt32) {
        let zeros = [UInt8](repeating: 0, count: Int(pageSize))
        let lockPage = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        for pageNumber in (self.pageCount + 1)...pageCount {
            // The lock page is never stored or checksummed.
            let sum = pageNumber == lockPage ? 0 : DatabaseChecksum.page(pageNumber, zeros)
            checksums.append(sum)
            combined ^= sum
        }
    }
}
