/// The 32-byte header at the start of a `-wal` file.
public struct WALHeader: Equatable, Sendable {
    /// Size of the header in bytes.
    public static let size = 32
    /// Magic with checksums over little-endian words.
    public static let magicLittleEndian: UInt32 = 0x377F_0682
    /// Magic with checksums over big-endian words.
    public static let magicBigEndian: UInt32 = 0x377F_0683
    /// The only WAL format version SQLite writes.
    public static let formatVersion: UInt32 = 3_007_000

    /// Whether frame checksums read words big-endian.
    public var bigEndianChecksums: Bool
    /// Database page size.
    public var pageSize: UInt32
    /// Checkpoint sequence number; SQLite adds one each time it restarts the WAL.
    public var checkpointSequence: UInt32
    /// First salt; SQLite adds one on every restart.
    public var salt1: UInt32
    /// Second salt; random on every restart.
    public var salt2: UInt32
    /// The header checksum, the seed of the first frame's checksum.
    public var checksum: WALChecksum

    /// Parses and verifies a header. Returns nil when the bytes are not a
    /// valid header (zeros, torn write, bad checksum): SQLite ignores such a
    /// WAL, and so does Baton.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= WALHeader.size else { return nil }
        let magic = BigEndian.uint32(bytes, 0)
        guard magic == WALHeader.magicLittleEndian || magic == WALHeader.magicBigEndian else { return nil }
        guard BigEndian.uint32(bytes, 4) == WALHeader.formatVersion else { return nil }
        bigEndianChecksums = magic == WALHeader.magicBigEndian
        pageSize = BigEndian.uint32(bytes, 8)
        // SQLite stores a 65536-byte page size as 1.
        if pageSize == 1 { pageSize = 65536 }
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else { return nil }
        checkpointSequence = BigEndian.uint32(bytes, 12)
        salt1 = BigEndian.uint32(bytes, 16)
        salt2 = BigEndian.uint32(bytes, 20)
        checksum = WALChecksum(s0: BigEndian.uint32(bytes, 24), s1: BigEndian.uint32(bytes, 28))
        var computed = WALChecksum()
        computed.update(bytes, 0..<24, bigEndian: bigEndianChecksums)
        guard computed == checksum else { return nil }
    }

    /// Size of one frame (header plus page) in bytes.
    public var frameSize: Int { WALFrameHeader.size + Int(pageSize) }

    /// Builds the bytes of a header (used by tests that hand-build WAL files).
    public static func encode(
        pageSize: UInt32, checkpointSequence: UInt32, salt1: UInt32, salt2: UInt32, bigEndian: Bool = false
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        BigEndian.append(bigEndian ? magicBigEndian : magicLittleEndian, to: &bytes)
        BigEndian.append(formatVersion, to: &bytes)
        BigEndian.append(pageSize == 65536 ? 1 : pageSize, to: &bytes)
        BigEndian.append(checkpointSequence, to: &bytes)
        BigEndian.append(salt1, to: &bytes)
        BigEndian.append(salt2, to: &bytes)
        var sum = WALChecksum()
        sum.update(bytes, 0..<24, bigEndian: bigEndian)
        BigEndian.append(sum.s0, to: &bytes)
        BigEndian.append(sum.s1, to: &bytes)
        return bytes
    }
}
