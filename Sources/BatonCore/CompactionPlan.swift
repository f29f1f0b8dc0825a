/// Which files to merge into the next file of a compaction level: the
/// longest contiguous run of files one level down that starts after the
/// newest file already at the level. Pure: the caller lists, merges, uploads.
public enum CompactionPlan {
    /// The run of `level - 1` files to merge into one `level` file, or nil
    /// when fewer than two are waiting. Snapshots are never inputs. `after`:
    /// where the level is known to reach when its older files are not in `files`.
    public static func nextRun(files: [LTXFileInfo], level: Int, after: UInt64 = 0) -> [LTXFileInfo]? {
        precondition(level >= 1 && level < LTXFileInfo.snapshotLevel, "compaction levels are 1 to 8")
        let done = max(after, files.filter { $0.level == level }.map(\.maxTXID).max() ?? 0)
        let inputs = files.filter { $0.level == level - 1 && !$0.isSnapshot && $0.minTXID > done }
            .sorted { $0.minTXID < $1.minTXID }
        guard let first = inputs.first else { return nil }
        var run = [first]
        for file in inputs.dropFirst() {
            guard file.minTXID == run.last!.maxTXID + 1 else { break }
            run.append(file)
        }
        return run.count >= 2 ? run : nil
    }
}
