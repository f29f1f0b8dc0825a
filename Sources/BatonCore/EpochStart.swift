/// Where a lease epoch's history begins: the first transaction its holder
/// wrote (a segment's first TXID, or a snapshot's TXID: a snapshot claims
/// only the state it shows). Kept in the store as an empty object named
/// `epochs/<epoch>-<start>` (16 hex digits each), written before the epoch's
/// first file, so that a listing of `epochs/` alone says which files a
/// deposed holder wrote too late, without listing the whole history.
public struct EpochStart: Equatable, Sendable {
    /// The lease epoch.
    public var epoch: UInt64
    /// Its first transaction.
    public var txid: UInt64

    /// An epoch's start.
    public init(epoch: UInt64, txid: UInt64) {
        self.epoch = epoch
        self.txid = txid
    }

    /// The folder of the markers.
    public static let prefix = "epochs/"

    /// The marker's key.
    public var key: String { "\(EpochStart.prefix)\(LTXFileInfo.hex(epoch))-\(LTXFileInfo.hex(txid))" }

    /// Parses a marker's key; nil for other keys.
    public init?(key: String) {
        guard key.hasPrefix(EpochStart.prefix) else { return nil }
        let parts = key.dropFirst(EpochStart.prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 16 }), let epoch = UInt64(parts[0], radix: 16),
            let txid = UInt64(parts[1], radix: 16), epoch > 0, txid > 0
        else { return nil }
        self.init(epoch: epoch, txid: txid)
    }

    /// Each epoch's earliest start among `keys` (a retried promotion may
    /// have marked a later start too).
    public static func starts(fromKeys keys: [String]) -> [UInt64: UInt64] {
        var starts: [UInt64: UInt64] = [:]
        for start in keys.compactMap(EpochStart.init(key:)) {
            starts[start.epoch] = min(starts[start.epoch] ?? .max, start.txid)
        }
        return starts
    }

    /// Where the files an epoch uploads first begin, as `RestorePlan.fenced`
    /// counts it: the lowest first TXID of its segments, the lowest TXID of
    /// its snapshots (nil when `files` holds neither: compactions start no epoch).
    public static func first(of files: [LTXFileInfo]) -> UInt64? {
        files.compactMap { file -> UInt64? in
            guard file.level == 0 || file.level == LTXFileInfo.snapshotLevel else { return nil }
            return file.isSnapshot ? file.maxTXID : file.minTXID
        }.min()
    }
}
