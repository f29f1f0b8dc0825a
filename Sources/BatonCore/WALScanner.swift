/// Finds committed transactions in a WAL file, frame by frame, verifying
/// salts and the running checksum as it goes.
///
/// The scanner does no I/O: the caller reads each frame (header and page) and
/// passes the bytes in. A frame whose salts or checksum do not match ends the
/// valid part of the WAL, exactly as SQLite's own recovery decides; frames
/// after the last commit frame are an unfinished transaction and are never
/// reported. What it does not guarantee: that a valid frame is still current
/// when the caller acts on it; the caller must hold a read transaction (see
/// `WALFollower`) so SQLite cannot restart the WAL underneath it.
public struct WALScanner: Sendable {
    /// Why scanning stopped.
    public enum Stop: Equatable, Sendable {
        /// The frame's salts belong to another WAL generation (or it was never written).
        case saltMismatch
        /// The frame's checksum does not continue the running checksum (torn or stale frame).
        case checksumMismatch
        /// The frame names page zero, which cannot exist.
        case invalidPageNumber
    }

    /// What one frame meant.
    public enum Step: Equatable, Sendable {
        /// A valid frame inside a transaction that has not committed yet.
        case frame
        /// A valid commit frame: the transaction is complete.
        case commit(WALTransaction)
        /// Not a valid frame; nothing at or after it is part of the WAL.
        case stop(Stop)
    }

    /// The header of the WAL being read.
    public let header: WALHeader
    /// Where the next frame starts.
    public private(set) var offset: Int
    /// The position after the last commit seen.
    public private(set) var committed: WALPosition

    private var running: WALChecksum
    private var openFrames: [WALTransaction.Frame] = []

    /// Starts scanning at `position`, which must belong to `header`'s generation.
    public init(header: WALHeader, from position: WALPosition) {
        precondition(position.isSameGeneration(as: header), "position belongs to another WAL generation")
        self.header = header
        self.offset = position.offset
        self.committed = position
        self.running = position.checksum
    }

    /// Starts scanning at the first frame.
    public init(header: WALHeader) {
        self.init(header: header, from: WALPosition(start: header))
    }

    /// Whether `bytes` (frame header and page) is a valid frame of `header`'s
    /// generation whose running checksum continues from `previous`.
    public static func verify(frame bytes: [UInt8], header: WALHeader, previous: WALChecksum) -> Bool {
        guard bytes.count == header.frameSize else { return false }
        let frameHeader = WALFrameHeader(bytes)
        guard frameHeader.salt1 == header.salt1, frameHeader.salt2 == header.salt2 else { return false }
        var sum = previous
        sum.update(bytes, 0..<8, bigEndian: header.bigEndianChecksums)
        sum.update(bytes, WALFrameHeader.size..<bytes.count, bigEndian: header.bigEndianChecksums)
        return sum == frameHeader.checksum
    }

    /// Consumes the frame starting at `offset`: `bytes` holds the 24-byte frame
    /// header followed by the page.
    public mutating func consume(frame bytes: [UInt8]) -> Step {
        precondition(bytes.count == header.frameSize, "frame must be header plus one page")
        let frameHeader = WALFrameHeader(bytes)
        guard frameHeader.salt1 == header.salt1, frameHeader.salt2 == header.salt2 else {
            return .stop(.saltMismatch)
        }
        var sum = running
        sum.update(bytes, 0..<8, bigEndian: header.bigEndianChecksums)
        sum.update(bytes, WALFrameHeader.size..<bytes.count, bigEndian: header.bigEndianChecksums)
        guard sum == frameHeader.checksum else { return .stop(.checksumMismatch) }
        guard frameHeader.pageNumber != 0 else { return .stop(.invalidPageNumber) }

        openFrames.append(.init(pageNumber: frameHeader.pageNumber, offset: offset, checksumBefore: running))
        running = sum
        offset += bytes.count
        guard frameHeader.isCommit else { return .frame }

        committed = WALPosition(
            salt1: header.salt1, salt2: header.salt2, checkpointSequence: header.checkpointSequence,
            offset: offset, checksum: running)
        let transaction = WALTransaction(
            frames: openFrames, commitPageCount: frameHeader.commitPageCount, end: committed)
        openFrames.removeAll(keepingCapacity: true)
        return .commit(transaction)
    }
}
