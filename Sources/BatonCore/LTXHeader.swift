/// The 100-byte header of an LTX file (format version 3, magic `LTX1`),
/// compatible with superfly/ltx and Litestream 0.5.
public struct LTXHeader: Equatable, Sendable {
    /// Size of the header in bytes.
    public static let size = 100
    /// The magic bytes "LTX1".
    public static let magic: [UInt8] = Array("LTX1".utf8)
    /// Flag: the file carries no database checksums (Litestream writes this).
    public static let flagNoChecksum: UInt32 = 1 << 1

    /// Header flags.
    public var flags: UInt32 = 0
    /// Database page size in bytes.
    public var pageSize: UInt32
    /// Database size in pages after applying the file.
    public var commitPageCount: UInt32
    /// First transaction the file contains.
    public var minTXID: UInt64
    /// Last transaction the file contains.
    public var maxTXID: UInt64
    /// Milliseconds since the Unix epoch of the last transaction.
    public var timestampMilliseconds: Int64
    /// Database checksum before applying the file; zero for snapshots.
    public var preApplyChecksum: UInt64 = 0
    /// Offset in the WAL of the first captured frame; zero when not from a WAL.
    public var walOffset: Int64 = 0
    /// Bytes of WAL frames captured; zero when not from a WAL.
    public var walSize: Int64 = 0
    /// Salt 1 of the WAL the frames came from.
    public var walSalt1: UInt32 = 0
    /// Salt 2 of the WAL the frames came from.
    public var walSalt2: UInt32 = 0
    /// The node that wrote the file; Baton stores the lease epoch here.
    public var nodeID: UInt64 = 0

    /// A header with the required fields.
    public init(
        pageSize: UInt32, commitPageCount: UInt32, minTXID: UInt64, maxTXID: UInt64,
        timestampMilliseconds: Int64
    ) {
        self.pageSize = pageSize
        self.commitPageCount = commitPageCount
        self.minTXID = minTXID
        self.maxTXID = maxTXID
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// Whether the file holds the whole database (it starts at transaction 1).
    public var isSnapshot: Bool { minTXID == 1 }

    /// Whether database checksums are absent from this file.
    public var hasNoChecksum: Bool { flags & LTXHeader.flagNoChecksum != 0 }

    /// Checks the rules of the format; throws `corrupt` naming the broken rule.
    public func validate() throws {
        func fail(_ why: String) -> BatonError { BatonError(.corrupt, "invalid LTX header: \(why)") }
        guard flags & ~LTXHeader.flagNoChecksum == 0 else {
            throw fail("unknown flags 0x\(String(flags, radix: 16)) (written by a newer version?)")
        }
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else {
            throw fail("page size \(pageSize) is not a power of two between 512 and 65536")
        }
        guard minTXID >= 1, maxTXID >= minTXID else { throw fail("transaction range \(minTXID)-\(maxTXID)") }
        guard walOffset >= 0, walSize >= 0 else { throw fail("negative WAL offset or size") }
        if isSnapshot || hasNoChecksum {
            guard preApplyChecksum == 0 else { throw fail("pre-apply checksum must be zero here") }
        } else {
            guard preApplyChecksum & DatabaseChecksum.flag != 0 else { throw fail("pre-apply checksum missing") }
        }
    }

    /// The 100 header bytes.
    public func encoded() -> [UInt8] {
        var bytes = LTXHeader.magic
        bytes.reserveCapacity(LTXHeader.size)
        BigEndian.append(flags, to: &bytes)
        BigEndian.append(pageSize, to: &bytes)
        BigEndian.append(commitPageCount, to: &bytes)
        BigEndian.append(minTXID, to: &bytes)
        BigEndian.append(maxTXID, to: &bytes)
        BigEndian.append(UInt64(bitPattern: timestampMilliseconds), to: &bytes)
        BigEndian.append(preApplyChecksum, to: &bytes)
        BigEndian.append(UInt64(bitPattern: walOffset), to: &bytes)
        BigEndian.append(UInt64(bitPattern: walSize), to: &bytes)
        BigEndian.append(walSalt1, to: &bytes)
        BigEndian.append(walSalt2, to: &bytes)
        BigEndian.append(nodeID, to: &bytes)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: LTXHeader.size - bytes.count))
        return bytes
    }

    /// Parses (but does not validate) a header.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= LTXHeader.size else {
            throw BatonError(.corrupt, "LTX file is shorter than its 100-byte header")
        }
        guard Array(bytes[0..<4]) == LTXHeader.magic else {
            throw BatonError(.corrupt, "not an LTX file (bad magic)")
        }
        flags = BigEndian.uint32(bytes, 4)
        pageSize = BigEndian.uint32(bytes, 8)
        commitPageCount = BigEndian.uint32(bytes, 12)
        minTXID = BigEndian.uint64(bytes, 16)
        maxTXID = BigEndian.uint64(bytes, 24)
        timestampMilliseconds = Int64(bitPattern: BigEndian.uint64(bytes, 32))
        preApplyChecksum = BigEndian.uint64(bytes, 40)
        walOffset = Int64(bitPattern: BigEndian.uint64(bytes, 48))
        walSize = Int64(bitPattern: BigEndian.uint64(bytes, 56))
        walSalt1 = BigEndian.uint32(bytes, 64)
        walSalt2 = BigEndian.uint32(bytes, 68)
        nodeID = BigEndian.uint64(bytes, 72)
    }
}
