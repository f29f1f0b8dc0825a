/// A point in a WAL file just after a commit frame: which WAL generation
/// (salts, checkpoint sequence), the byte offset after the frame, and the
/// running checksum there, so reading can resume and keep verifying.
public struct WALPosition: Equatable, Sendable {
    /// Salt 1 of the WAL generation.
    public var salt1: UInt32
    /// Salt 2 of the WAL generation.
    public var salt2: UInt32
    /// Checkpoint sequence number of the generation.
    public var checkpointSequence: UInt32
    /// Byte offset just after the last captured commit frame (32 when none).
    public var offset: Int
    /// Running checksum at `offset`.
    public var checksum: WALChecksum

    /// The position before the first frame of the WAL described by `header`.
    public init(start header: WALHeader) {
        salt1 = header.salt1
        salt2 = header.salt2
        checkpointSequence = header.checkpointSequence
        offset = WALHeader.size
        checksum = header.checksum
    }

    /// A position from its parts.
    public init(salt1: UInt32, salt2: UInt32, checkpointSequence: UInt32, offset: Int, checksum: WALChecksum) {
        self.salt1 = salt1
        self.salt2 = salt2
        self.checkpointSequence = checkpointSequence
        self.offset = offset
        self.checksum = checksum
    }

    /// Whether `header` starts the same WAL generation as this position.
    public func isSameGeneration(as header: WALHeader) -> Bool {
        header.salt1 == salt1 && header.salt2 == salt2
    }

    /// Whether `other` lies in the same WAL generation.
    public func isSameGeneration(as other: WALPosition) -> Bool {
        other.salt1 == salt1 && other.salt2 == salt2
    }
}
