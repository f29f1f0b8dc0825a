/// The 16-byte trailer of an LTX file.
public struct LTXTrailer: Equatable, Sendable {
    /// Size of the trailer in bytes.
    public static let size = 16

    /// Database checksum after applying the file (zero with the no-checksum flag).
    public var postApplyChecksum: UInt64
    /// CRC-64/ISO of the file's logical content, flag set.
    public var fileChecksum: UInt64

    /// A trailer from its two checksums.
    public init(postApplyChecksum: UInt64, fileChecksum: UInt64) {
        self.postApplyChecksum = postApplyChecksum
        self.fileChecksum = fileChecksum
    }
}
