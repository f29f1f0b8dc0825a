/// One LTX file in a replica: its level and transaction range (from its key)
/// and, when known, its size and timestamp.
public struct LTXFileInfo: Equatable, Sendable, Comparable {
    /// The level Litestream and Baton use for full snapshots.
    public static let snapshotLevel = 9

    /// 0 for segments, 1–8 for compactions, 9 for snapshots.
    public var level: Int
    /// First transaction in the file.
    public var minTXID: UInt64
    /// Last transaction in the file.
    public var maxTXID: UInt64
    /// Size in bytes.
    public var size: Int64
    /// Milliseconds since the Unix epoch of the last transaction, from the header.
    public var timestampMilliseconds: Int64?
    /// The lease epoch of the writer (the header's node ID), when read.
    public var epoch: UInt64?

    /// A file from its parts.
    public init(level: Int, minTXID: UInt64, maxTXID: UInt64, size: Int64 = 0, timestampMilliseconds: Int64? = nil) {
        self.level = level
        self.minTXID = minTXID
        self.maxTXID = maxTXID
        self.size = size
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// Whether the file holds a whole database.
    public var isSnapshot: Bool { minTXID == 1 }

    /// The key under the replica's prefix: `ltx/<level>/<min>-<max>.ltx`.
    public var key: String { "ltx/\(level)/\(LTXFileInfo.hex(minTXID))-\(LTXFileInfo.hex(maxTXID)).ltx" }

    /// A TXID as 16 lowercase hex digits, as in file names.
    public static func hex(_ txid: UInt64) -> String {
        let digits = String(txid, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// Parses a key like `ltx/0/0000000000000001-0000000000000003.ltx`; nil for other keys.
    public init?(key: String, size: Int64 = 0) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "ltx", let level = Int(parts[1]), (0...9).contains(level) else {
            return nil
        }
        let name = parts[2]
        guard name.count == 37, name.hasSuffix(".ltx") else { return nil }
        let range = name.dropLast(4).split(separator: "-")
        guard range.count == 2, range[0].count == 16, range[1].count == 16,
            let minTXID = UInt64(range[0], radix: 16), let maxTXID = UInt64(range[1], radix: 16),
            minTXID >= 1, minTXID <= maxTXID
        else { return nil }
        self.init(level: level, minTXID: minTXID, maxTXID: maxTXID, size: size)
    }

    /// Orders by level, then range.
    public static func < (lhs: LTXFileInfo, rhs: LTXFileInfo) -> Bool {
        (lhs.level, lhs.minTXID, lhs.maxTXID) < (rhs.level, rhs.minTXID, rhs.maxTXID)
    }
}
