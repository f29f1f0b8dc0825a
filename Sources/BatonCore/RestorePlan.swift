/// Which files to apply, in order, to rebuild the database at a transaction.
public struct RestorePlan: Equatable, Sendable {
    /// The snapshot first, then contiguous segments.
    public var files: [LTXFileInfo]
    /// The transaction the restored database will be at.
    public var targetTXID: UInt64

    /// What to restore to.
    public enum Target: Equatable, Sendable {
        /// The newest transaction in the replica.
        case latest
        /// A transaction; the plan fails if no file ends exactly there.
        case txid(UInt64)
        /// The newest state whose last transaction is at or before this time (ms since epoch).
        case timestamp(Int64)
    }

    /// Plans a restore: the newest snapshot at or before the target plus the
    /// fewest files that continue it without a hole up to the target.
    /// `files` must carry timestamps when the target is a timestamp.
    /// `epochStarts` adds epochs known from elsewhere (a live holder that has
    /// not written a file yet): epoch → first TXID it writes.
    public static func make(
        files allFiles: [LTXFileInfo], target: Target, epochStarts: [UInt64: UInt64] = [:]
    ) throws -> RestorePlan {
        guard !allFiles.isEmpty else { throw BatonError(.notFound, "the replica holds no LTX files") }
        let files = fenced(allFiles, epochStarts: epochStarts)
        guard let newest = files.map(\.maxTXID).max() else {
            let starts = epochStarts.sorted { $0.key < $1.key }.map { "epoch \($0.key) from \($0.value)" }
            throw BatonError(
                .notFound,
                "every file of the replica was written by a deposed holder (newer epochs start: "
                    + "\(starts.joined(separator: ", ")))")
        }
        let targetTXID: UInt64
        switch target {
        case .latest:
            targetTXID = newest
        case .txid(let txid):
            guard files.contains(where: { $0.maxTXID == txid }) else {
                let ends = files.filter { $0.maxTXID < txid }.map(\.maxTXID).max()
                let hint = ends.map { "; the nearest restorable point before it is \($0)" } ?? ""
                throw BatonError(.notFound, "no file in the replica ends at transaction \(txid)\(hint)")
            }
            targetTXID = txid
        case .timestamp(let milliseconds):
            let candidates = files.filter { ($0.timestampMilliseconds ?? .max) <= milliseconds }
            guard let best = candidates.map(\.maxTXID).max() else {
                throw BatonError(.notFound, "the replica holds nothing at or before the requested time")
            }
            targetTXID = best
        }

        let snapshots = files.filter { $0.isSnapshot && $0.maxTXID <= targetTXID }
        // Try the newest snapshot first; fall back to older ones if a hole follows it.
        let ordered = snapshots.sorted { ($0.maxTXID, $0.level) > ($1.maxTXID, $1.level) }
        var lastError: BatonError?
        for snapshot in ordered {
            do {
                return RestorePlan(
                    files: [snapshot] + (try chain(files, from: snapshot.maxTXID, to: targetTXID)),
                    targetTXID: targetTXID)
            } catch let error as BatonError {
                lastError = lastError ?? error
            }
        }
        throw lastError ?? BatonError(.gap, "the replica holds no snapshot at or before transaction \(targetTXID)")
    }

    /// Drops what a deposed holder wrote: a file is ignored when a higher
    /// epoch had already started writing at or before its last transaction
    /// (an epoch starts at the lowest first TXID among the segments it wrote,
    /// or at the last TXID of a snapshot it wrote: a snapshot claims only the
    /// state it shows; compactions carry their last input's epoch and do not
    /// start one). Files without a known epoch are kept. `epochStarts` adds
    /// starts known from elsewhere.
    public static func fenced(_ files: [LTXFileInfo], epochStarts: [UInt64: UInt64] = [:]) -> [LTXFileInfo] {
        var starts = epochStarts.filter { $0.key > 0 }
        for (epoch, written) in Dictionary(grouping: files, by: { $0.epoch ?? 0 }) where epoch > 0 {
            guard let start = EpochStart.first(of: written) else { continue }
            starts[epoch] = min(starts[epoch] ?? .max, start)
        }
        guard starts.count > 1 else { return files }
        return files.filter { file in
            guard let epoch = file.epoch else { return true }
            return !starts.contains { other, start in other > epoch && start <= file.maxTXID }
        }
    }

    /// How far `files` continue `position` without a hole (segments and
    /// compactions; the furthest file at each step).
    public static func reach(from position: UInt64, over files: [LTXFileInfo]) -> UInt64 {
        var furthestFrom: [UInt64: UInt64] = [:]
        for file in files where !file.isSnapshot {
            furthestFrom[file.minTXID] = max(furthestFrom[file.minTXID] ?? 0, file.maxTXID)
        }
        var reached = position
        while let next = furthestFrom[reached + 1], next > reached { reached = next }
        return reached
    }

    /// The fewest files that continue from `start` to exactly `end`: a
    /// breadth-first search over transaction positions, so a long compaction
    /// that leads into a hole never hides a path of smaller files.
    private static func chain(_ files: [LTXFileInfo], from start: UInt64, to end: UInt64) throws -> [LTXFileInfo] {
        if start == end { return [] }
        var byStart: [UInt64: [LTXFileInfo]] = [:]
        for file in files where !file.isSnapshot && file.minTXID > start && file.maxTXID <= end {
            byStart[file.minTXID, default: []].append(file)
        }
        var reachedBy: [UInt64: LTXFileInfo] = [:]
        var frontier = [start]
        var furthest = start
        while !frontier.isEmpty, reachedBy[end] == nil {
            var next: [UInt64] = []
            for position in frontier {
                // Higher levels first: same reach with fewer, larger files.
                for file in (byStart[position + 1] ?? []).sorted(by: { $0.level > $1.level })
                where reachedBy[file.maxTXID] == nil && file.maxTXID != start {
                    reachedBy[file.maxTXID] = file
                    next.append(file.maxTXID)
                    furthest = max(furthest, file.maxTXID)
                }
            }
            frontier = next
        }
        guard reachedBy[end] != nil else {
            throw BatonError(
                .gap, "the replica has a gap after transaction \(furthest): no file starts at \(furthest + 1)")
        }
        var chain: [LTXFileInfo] = []
        var position = end
        while position != start, let file = reachedBy[position] {
            chain.append(file)
            position = file.minTXID - 1
        }
        return chain.reversed()
    }
}
