/// Writes an LTX file as a stream: header, LZ4-compressed page frames in
/// ascending page order, page index, trailer. Output goes to `sink` in pieces
/// so a snapshot of any size needs memory only for one page plus its index
/// entry (about 16 bytes per page).
public struct LTXEncoder {
    private let header: LTXHeader
    private let sink: ([UInt8]) throws -> Void
    private var fileChecksum = CRC64()
    private var offset: Int64 = 0
    private var lastPageNumber: UInt32 = 0
    private var indexPageNumbers: [UInt32] = []
    private var indexOffsets: [Int64] = []
    private var indexSizes: [UInt32] = []
    private let lockPage: UInt32

    /// Validates and writes the header.
    public init(header: LTXHeader, sink: @escaping ([UInt8]) throws -> Void) throws {
        try header.validate()
        self.header = header
        self.sink = sink
        self.lockPage = DatabaseChecksum.lockPageNumber(pageSize: header.pageSize)
        try emit(header.encoded(), hashed: true)
    }

    /// Number of page frames written so far.
    public var pageCount: Int { indexPageNumbers.count }

    /// Writes one page. Pages must come in ascending order; snapshots must
    /// contain every page from 1 to the commit size except SQLite's lock page.
    public mutating func writePage(_ pageNumber: UInt32, _ data: [UInt8]) throws {
        guard data.count == Int(header.pageSize) else {
            throw BatonError(.corrupt, "page \(pageNumber) has \(data.count) bytes, expected \(header.pageSize)")
        }
        guard pageNumber > lastPageNumber, pageNumber <= header.commitPageCount, pageNumber != lockPage else {
            throw BatonError(.corrupt, "page \(pageNumber) out of order or out of range for an LTX file")
        }
        if header.isSnapshot {
            let expected = lastPageNumber + 1 == lockPage ? lastPageNumber + 2 : lastPageNumber + 1
            guard pageNumber == expected else {
                throw BatonError(.corrupt, "snapshot skips from page \(lastPageNumber) to \(pageNumber)")
            }
        }
        let compressed = LZ4Block.compress(data)
        var frameHeader: [UInt8] = []
        BigEndian.append(pageNumber, to: &frameHeader)
        BigEndian.append(LTXPageFrame.flagSize, to: &frameHeader)
        BigEndian.append(UInt32(compressed.count), to: &frameHeader)
        let frameOffset = offset
        try emit(frameHeader, hashed: true)
        // The file checksum covers the page as decompressed, not its LZ4 bytes.
        fileChecksum.update(data)
        try emit(compressed, hashed: false)
        indexPageNumbers.append(pageNumber)
        indexOffsets.append(frameOffset)
        indexSizes.append(UInt32(frameHeader.count + compressed.count))
        lastPageNumber = pageNumber
    }

    /// Writes the end marker, page index and trailer; returns the trailer.
    public mutating func finish(postApplyChecksum: UInt64) throws -> LTXTrailer {
        if header.isSnapshot {
            var expectedEnd = header.commitPageCount
            if expectedEnd == lockPage { expectedEnd -= 1 }
            guard lastPageNumber == expectedEnd else {
                throw BatonError(.corrupt, "snapshot ends at page \(lastPageNumber), database has \(expectedEnd)")
            }
        }
        try emit([UInt8](repeating: 0, count: LTXPageFrame.headerSize), hashed: true)
        var index: [UInt8] = []
        for position in indexPageNumbers.indices {
            Varint.append(UInt64(indexPageNumbers[position]), to: &index)
            Varint.append(UInt64(indexOffsets[position]), to: &index)
            Varint.append(UInt64(indexSizes[position]), to: &index)
        }
        Varint.append(0, to: &index)
        BigEndian.append(UInt64(index.count), to: &index)
        try emit(index, hashed: true)
        let post = header.hasNoChecksum ? 0 : postApplyChecksum
        var postBytes: [UInt8] = []
        BigEndian.append(post, to: &postBytes)
        fileChecksum.update(postBytes)
        let trailer = LTXTrailer(postApplyChecksum: post, fileChecksum: DatabaseChecksum.flag | fileChecksum.value)
        var fileBytes: [UInt8] = []
        BigEndian.append(trailer.fileChecksum, to: &fileBytes)
        try emit(postBytes + fileBytes, hashed: false)
        return trailer
    }

    private mutating func emit(_ bytes: [UInt8], hashed: Bool) throws {
        if hashed { fileChecksum.update(bytes) }
        offset += Int64(bytes.count)
        try sink(bytes)
    }
}
