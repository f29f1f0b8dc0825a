import Foundation

/// How far a second store (a disaster-recovery copy) has been filled from
/// the primary: per folder (`epochs/`, `ltx/9/` … `ltx/0/`) the last key
/// copied. Each pass lists a folder of the primary only after its mark
/// (S3's `start-after`), never the whole history. Kept in the second store
/// as `mirror.json`, so a new holder (or a restarted one) goes on where the
/// last one stopped.
///
/// Keys sort by first TXID. A new epoch's files may sort before a mark a
/// deposed holder's late files pushed forward, so a new epoch marker
/// (`epochs/<epoch>-<start>`) moves every level's mark back to before its
/// start: what its holder writes is listed again. Level-0 files are the
/// ground truth; a compaction missed in the second store costs a restore
/// from it more files, never a state.
public struct MirrorProgress: Equatable, Sendable, Codable {
    /// Folder → the last key copied from it.
    public var marks: [String: String] = [:]
    /// The newest transaction the second store holds a level-0 file or a snapshot up to.
    public var txid: UInt64 = 0
    /// When (ms since the epoch, the copier's clock) that transaction's file was copied.
    public var copiedMilliseconds: Int64?

    /// No progress: everything is copied.
    public init() {}

    /// The object the progress is kept in, under the replica's prefix.
    public static let key = "mirror.json"

    /// The folders copied, in order: the epoch markers first (so the second
    /// store can always fence what it holds), then from the snapshots down.
    public static let folders: [String] =
        [EpochStart.prefix] + (0...LTXFileInfo.snapshotLevel).reversed().map { "ltx/\($0)/" }

    /// Where the next listing of `folder` starts after (nil: its beginning).
    public func startAfter(_ folder: String) -> String? { marks[folder] }

    /// Records that `key` of `folder` was copied (marks only move forward).
    public mutating func copied(_ key: String, in folder: String, nowMilliseconds: Int64) {
        if marks[folder].map({ key > $0 }) ?? true { marks[folder] = key }
        guard let info = LTXFileInfo(key: key), info.level == 0 || info.isSnapshot, info.maxTXID > txid else { return }
        txid = info.maxTXID
        copiedMilliseconds = nowMilliseconds
    }

    /// A new epoch's marker was copied: every level's mark goes back to
    /// just before its start, so its files are listed whatever a deposed
    /// holder's late files had moved the marks to.
    public mutating func epochStarted(_ start: EpochStart) {
        guard start.txid > 0 else { return }
        for level in 0...LTXFileInfo.snapshotLevel {
            let folder = "ltx/\(level)/"
            // A key of the folder that sorts before every file starting at or after `start.txid`.
            let before = folder + LTXFileInfo.hex(start.txid - 1) + "-" + LTXFileInfo.hex(UInt64.max)
            if let mark = marks[folder], mark > before { marks[folder] = before }
        }
    }

    /// The JSON kept in the second store.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Parses what `encoded()` wrote.
    public init(decoding bytes: [UInt8]) throws {
        do {
            self = try JSONDecoder().decode(MirrorProgress.self, from: Data(bytes))
        } catch {
            throw BatonError(.corrupt, "\(MirrorProgress.key) is not a mirror's progress: \(error)")
        }
    }
}
