/// The 24-byte header in front of every page in a `-wal` file.
public struct WALFrameHeader: Equatable, Sendable {
    /// Size of a frame header in bytes.
    public static let size = 24

    /// The database page this frame holds.
    public var pageNumber: UInt32
    /// For a commit frame, the database size in pages after the commit; otherwise zero.
    public var commitPageCount: UInt32
    /// Must equal the WAL header's salts for the frame to be valid.
    public var salt1: UInt32
    /// Must equal the WAL header's salts for the frame to be valid.
    public var salt2: UInt32
    /// The running checksum up to and including this frame.
    public var checksum: WALChecksum

    /// Parses a frame header from the first 24 bytes.
    public init(_ bytes: [UInt8]) {
        pageNumber = BigEndian.uint32(bytes, 0)
        commitPageCount = BigEndian.uint32(bytes, 4)
        salt1 = BigEndian.uint32(bytes, 8)
        salt2 = BigEndian.uint32(bytes, 12)
        checksum = WALChecksum(s0: BigEndian.uint32(bytes, 16), s1: BigEndian.uint32(bytes, 20))
    }

    /// Whether this frame ends a transaction.
    public var isCommit: Bool { commitPageCount != 0 }
}
