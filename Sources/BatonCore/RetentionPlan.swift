/// Which files no restore inside the retention window needs.
///
/// The window is [now − retention, now]. Let S be the newest snapshot taken
/// at or before the window's start: a restore to any point in the window
/// starts at S or a later snapshot, so every file that ends at or before S
/// (other than S) can go. Without such a snapshot nothing is deleted.
public enum RetentionPlan {
    /// Files to delete; `files` must carry timestamps for snapshots.
    public static func deletions(files: [LTXFileInfo], nowMilliseconds: Int64, retentionMilliseconds: Int64)
        -> [LTXFileInfo]
    {
        let windowStart = nowMilliseconds - retentionMilliseconds
        let anchors = files.filter {
            $0.level == LTXFileInfo.snapshotLevel && ($0.timestampMilliseconds ?? .max) <= windowStart
        }
        guard let anchor = anchors.max(by: { $0.maxTXID < $1.maxTXID }) else { return [] }
        return files.filter { $0.maxTXID <= anchor.maxTXID && $0 != anchor }
    }
}
