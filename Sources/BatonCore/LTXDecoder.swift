/// Reads an LTX file as a stream and checks it as it reads: header rules,
/// page order and range, each page's size after decompression, the page
/// index against the frames actually read, and the file checksum.
///
/// Database checksums (pre- and post-apply) are not checked here: they depend
/// on the database the file is applied to; see `DatabaseApplier` users.
/// Page frames in the legacy LZ4-frame encoding (no size flag) are refused.
public struct LTXDecoder<Source: ByteSource> {
    private var source: Source
    private var fileChecksum = CRC64()
    private var offset: Int64 = 0
    private var frames: [(pageNumber: UInt32, offset: Int64, size: Int64)] = []
    private var finishedPages = false
    private var lastPageNumber: UInt32 = 0
    /// The header, read by `init`.
    public let header: LTXHeader

    /// Reads and validates the header.
    public init(_ source: Source) throws {
        self.source = source
        let bytes = try self.source.read(exactly: LTXHeader.size)
        let header = try LTXHeader(decoding: bytes)
        try header.validate()
        self.header = header
        fileChecksum.update(bytes)
        offset = Int64(bytes.count)
    }

    /// The next page, or nil after the last one.
    public mutating func nextPage() throws -> (pageNumber: UInt32, data: [UInt8])? {
        guard !finishedPages else { return nil }
        let frameOffset = offset
        let frameHeader = try read(LTXPageFrame.headerSize, hashed: true)
        let pageNumber = BigEndian.uint32(frameHeader, 0)
        let flags = BigEndian.uint16(frameHeader, 4)
        if pageNumber == 0 {
            guard flags == 0 else { throw BatonError(.corrupt, "LTX end-of-pages marker has flags set") }
            finishedPages = true
            return nil
        }
        guard flags == LTXPageFrame.flagSize else {
            throw BatonError(
                .corrupt,
                "LTX page \(pageNumber) uses page flags 0x\(String(flags, radix: 16)); only LZ4-block frames are supported"
            )
        }
        guard pageNumber > lastPageNumber, pageNumber <= header.commitPageCount,
            pageNumber != DatabaseChecksum.lockPageNumber(pageSize: header.pageSize)
        else {
            throw BatonError(.corrupt, "LTX page \(pageNumber) is out of order or beyond the database size")
        }
        if header.isSnapshot {
            let lock = DatabaseChecksum.lockPageNumber(pageSize: header.pageSize)
            let expected = lastPageNumber + 1 == lock ? lastPageNumber + 2 : lastPageNumber + 1
            guard pageNumber == expected else { throw BatonError(.corrupt, "LTX snapshot is missing page \(expected)") }
        }
        let sizeBytes = try read(4, hashed: true)
        let compressedSize = Int(BigEndian.uint32(sizeBytes, 0))
        // Refuse absurd sizes before allocating anything for them.
        guard compressedSize > 0, compressedSize <= LZ4Block.bound(Int(header.pageSize)) else {
            throw BatonError(.corrupt, "LTX page \(pageNumber) claims \(compressedSize) compressed bytes")
        }
        let compressed = try read(compressedSize, hashed: false)
        let data = try LZ4Block.decompress(compressed, size: Int(header.pageSize))
        fileChecksum.update(data)
        frames.append((pageNumber, frameOffset, offset - frameOffset))
        lastPageNumber = pageNumber
        return (pageNumber, data)
    }

    /// Reads the page index and trailer after the last page and verifies the
    /// index and the file checksum. Returns the trailer.
    public mutating func finish() throws -> LTXTrailer {
        while try nextPage() != nil {}
        if header.isSnapshot {
            var expectedEnd = header.commitPageCount
            if expectedEnd == DatabaseChecksum.lockPageNumber(pageSize: header.pageSize) { expectedEnd -= 1 }
            guard lastPageNumber == expectedEnd else {
                throw BatonError(.corrupt, "LTX snapshot ends at page \(lastPageNumber) of \(expectedEnd)")
            }
        }
        var indexBytes = 0
        func nextByte() throws -> UInt8 {
            indexBytes += 1
            return try read(1, hashed: true)[0]
        }
        var position = 0
        while true {
            let pageNumber = try Varint.read(nextByte)
            if pageNumber == 0 { break }
            let frameOffset = try Varint.read(nextByte)
            let size = try Varint.read(nextByte)
            guard position < frames.count, UInt64(frames[position].pageNumber) == pageNumber,
                UInt64(frames[position].offset) == frameOffset, UInt64(frames[position].size) == size
            else { throw BatonError(.corrupt, "LTX page index does not match the page frames") }
            position += 1
        }
        guard position == frames.count else { throw BatonError(.corrupt, "LTX page index is missing pages") }
        let sizeField = try read(LTXPageFrame.indexSizeFieldSize, hashed: true)
        guard BigEndian.uint64(sizeField, 0) == UInt64(indexBytes) else {
            throw BatonError(.corrupt, "LTX page index size field is wrong")
        }
        let trailerBytes = try source.read(exactly: LTXTrailer.size)
        let post = BigEndian.uint64(trailerBytes, 0)
        fileChecksum.update(Array(trailerBytes[0..<8]))
        let trailer = LTXTrailer(postApplyChecksum: post, fileChecksum: BigEndian.uint64(trailerBytes, 8))
        guard trailer.fileChecksum == DatabaseChecksum.flag | fileChecksum.value else {
            throw BatonError(.checksumMismatch, "LTX file checksum does not match its contents")
        }
        if header.hasNoChecksum {
            guard post == 0 else { throw BatonError(.corrupt, "LTX file without checksums has a post-apply checksum") }
        } else {
            guard post & DatabaseChecksum.flag != 0 else {
                throw BatonError(.corrupt, "LTX file is missing its post-apply checksum")
            }
        }
        return trailer
    }

    private mutating func read(_ count: Int, hashed: Bool) throws -> [UInt8] {
        let bytes = try source.read(exactly: count)
        if hashed { fileChecksum.update(bytes) }
        offset += Int64(count)
        return bytes
    }
}
