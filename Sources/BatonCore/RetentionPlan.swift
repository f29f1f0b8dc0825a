/// Which files no restore the retention policy promises needs.
///
/// The window is [now − pointInTime, now]. Let S be the newest snapshot
/// taken at or before the window's start: a restore to any point in the
/// window starts at S or a later snapshot, so every file that ends at or
/// before S (other than S) can go. Without such a snapshot nothing is
/// deleted. With tiers (`RetentionPolicy`), the restore points kept before
/// the window (`tierPoints`) keep every file their restore plan uses.
///
/// Deletion is safe under crashes: a file is deleted only when no kept
/// point needs it, so any part of the deletions leaves every kept point
/// restorable, and planning again on what is left keeps the same points
/// (each is the newest restorable point of its bucket, and nothing it
/// needs went) and deletes no file the first plan kept.
public enum RetentionPlan {
    /// Files to delete with a point-in-time window only; `files` must carry timestamps for snapshots.
    public static func deletions(files: [LTXFileInfo], nowMilliseconds: Int64, retentionMilliseconds: Int64)
        -> [LTXFileInfo]
    {
        deletions(
            files: files, nowMilliseconds: nowMilliseconds,
            policy: RetentionPolicy(pointInTimeMilliseconds: retentionMilliseconds))
    }

    /// Files to delete under `policy`. `files` must carry timestamps for
    /// snapshots; only files with a timestamp can be tier points (the
    /// caller reads the headers of the levels it wants as points: the
    /// snapshots and the top compaction level, one file an hour by default).
    public static func deletions(files: [LTXFileInfo], nowMilliseconds: Int64, policy: RetentionPolicy)
        -> [LTXFileInfo]
    {
        let windowStart = nowMilliseconds - policy.pointInTimeMilliseconds
        let anchors = files.filter {
            $0.level == LTXFileInfo.snapshotLevel && ($0.timestampMilliseconds ?? .max) <= windowStart
        }
        guard let anchor = anchors.max(by: { $0.maxTXID < $1.maxTXID }) else { return [] }
        let beforeWindow = files.filter { $0.maxTXID <= anchor.maxTXID && $0.key != anchor.key }
        guard policy.hasTiers else { return beforeWindow }
        let live = RestorePlan.fenced(files)
        var needed = Set<String>()
        for point in tierPoints(files: files, windowStartMilliseconds: windowStart, policy: policy) {
            for file in chain(to: point, in: live) ?? [] { needed.insert(file.key) }
            // The timed file that makes it a point stays too, even off its chain: without it the
            // next pass would not see the point, and would delete what it holds on to.
            let marker = live.filter { $0.maxTXID == point && $0.timestampMilliseconds != nil }
                .max { ($0.level, $0.key) < ($1.level, $1.key) }
            if let marker { needed.insert(marker.key) }
        }
        return beforeWindow.filter { !needed.contains($0.key) }
    }

    /// The restore points the tiers keep, as TXIDs: for each tier, the
    /// newest restorable point (the end of a file with a timestamp at or
    /// before the window's start) of each of its newest `count` buckets
    /// that hold one.
    public static func tierPoints(files: [LTXFileInfo], windowStartMilliseconds: Int64, policy: RetentionPolicy)
        -> [UInt64]
    {
        let live = RestorePlan.fenced(files)
        let candidates = live.filter { ($0.timestampMilliseconds ?? .max) <= windowStartMilliseconds }
        var restorable: [UInt64: Bool] = [:]
        func canRestore(_ txid: UInt64) -> Bool {
            if let known = restorable[txid] { return known }
            let answer = chain(to: txid, in: live) != nil
            restorable[txid] = answer
            return answer
        }
        var points = Set<UInt64>()
        for tier in policy.tiers where tier.count > 0 {
            var byBucket: [Int64: Set<UInt64>] = [:]
            for file in candidates {
                guard let time = file.timestampMilliseconds else { continue }
                byBucket[tier.bucket(time), default: []].insert(file.maxTXID)
            }
            var kept = 0
            for bucket in byBucket.keys.sorted(by: >) where kept < tier.count {
                guard let newest = byBucket[bucket]!.sorted(by: >).first(where: canRestore) else { continue }
                points.insert(newest)
                kept += 1
            }
        }
        return points.sorted()
    }

    /// The files a kept point holds on to: the newest snapshot at or
    /// before `txid` from which files lead to exactly `txid`, then at each
    /// step the file reaching furthest that still leads there; nil when
    /// `txid` does not restore. The choice depends only on which paths
    /// exist, so deleting files off it never changes it (a restore's own
    /// plan, `RestorePlan`, may take another path: any path will do).
    static func chain(to txid: UInt64, in files: [LTXFileInfo]) -> [LTXFileInfo]? {
        let segments = files.filter { !$0.isSnapshot && $0.maxTXID <= txid }
        // The positions from which files lead to `txid`, found from the end backwards.
        var leads: Set<UInt64> = [txid]
        for file in segments.sorted(by: { $0.maxTXID > $1.maxTXID }) where leads.contains(file.maxTXID) {
            leads.insert(file.minTXID - 1)
        }
        let snapshot = files.filter { $0.isSnapshot && $0.maxTXID <= txid && leads.contains($0.maxTXID) }
            .max { ($0.maxTXID, $0.level, $0.key) < ($1.maxTXID, $1.level, $1.key) }
        guard let snapshot else { return nil }
        let byStart = Dictionary(grouping: segments, by: \.minTXID)
        var chain = [snapshot]
        var position = snapshot.maxTXID
        while position != txid {
            let step = (byStart[position + 1] ?? []).filter { leads.contains($0.maxTXID) }
                .max { ($0.maxTXID, $0.level, $0.key) < ($1.maxTXID, $1.level, $1.key) }
            guard let step else { return nil }
            chain.append(step)
            position = step.maxTXID
        }
        return chain
    }
}
