/// One committed transaction found in a WAL file.
public struct WALTransaction: Equatable, Sendable {
    /// A page written by the transaction and where its frame starts in the WAL file.
    public struct Frame: Equatable, Sendable {
        /// The database page number.
        public var pageNumber: UInt32
        /// Offset of the frame header in the WAL file; the page follows 24 bytes later.
        public var offset: Int
        /// The running checksum before this frame, to verify it when it is read again.
        public var checksumBefore: WALChecksum

        /// A frame reference.
        public init(pageNumber: UInt32, offset: Int, checksumBefore: WALChecksum = WALChecksum()) {
            self.pageNumber = pageNumber
            self.offset = offset
            self.checksumBefore = checksumBefore
        }
    }

    /// Frames in WAL order; a page may appear more than once, the last one wins.
    public var frames: [Frame]
    /// Database size in pages after the commit.
    public var commitPageCount: UInt32
    /// Position just after the commit frame.
    public var end: WALPosition
}
