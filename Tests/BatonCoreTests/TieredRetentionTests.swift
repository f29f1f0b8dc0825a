import Testing

@testable import BatonCore

extension SplitMix: RandomNumberGenerator {}

/// Tiered retention over random histories: whatever the history, the
/// policy and a crash in the middle of the deletions, every point of the
/// window and every kept hourly, daily and weekly point still restores,
/// and planning again deletes nothing more.
@Suite struct TieredRetentionTests {
    static let hour: Int64 = 3_600_000
    static let day = 24 * hour

    /// A replica's files as compaction leaves them, with each file's true
    /// time (`times`, by key) and the timestamps a listing would carry
    /// (snapshots always; the others all, or only the top level's).
    struct History {
        var files: [LTXFileInfo] = []
        var times: [String: Int64] = [:]
        var now: Int64 = 0
    }

    static func history(_ random: inout SplitMix) -> History {
        var history = History()
        var time: Int64 = 1_780_000_000_000 + Int64(random.next() % UInt64(day))
        let allTimestamps = random.next() % 2 == 0
        func add(_ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, at when: Int64) {
            let listed = level == LTXFileInfo.snapshotLevel || level == 3 || allTimestamps
            let file = LTXFileInfo(
                level: level, minTXID: minTXID, maxTXID: maxTXID, timestampMilliseconds: listed ? when : nil)
            history.files.append(file)
            history.times[file.key] = when
        }
        add(LTXFileInfo.snapshotLevel, 1, 1, at: time)
        var levelZero: [LTXFileInfo] = []
        var next: UInt64 = 2
        let count = 40 + Int(random.next() % 260)
        for _ in 0..<count {
            // From a minute to three hours between files: busy hours and quiet days.
            time += Int64(60_000 + random.next() % UInt64(3 * hour))
            let end = next + random.next() % 3
            add(0, next, end, at: time)
            levelZero.append(history.files.last!)
            if random.next() % 20 == 0 { add(LTXFileInfo.snapshotLevel, 1, end, at: time) }
            next = end + 1
        }
        // Each level merges runs of 1–4 files of the level below, up to a random point.
        var below = levelZero
        for level in 1...3 {
            var merged: [LTXFileInfo] = []
            var index = 0
            let stop = Int(Double(below.count) * (0.6 + 0.4 * random.unit()))
            while index < stop {
                let run = below[index..<min(stop, index + 1 + Int(random.next() % 4))]
                add(level, run.first!.minTXID, run.last!.maxTXID, at: history.times[run.last!.key]!)
                merged.append(history.files.last!)
                index += run.count
            }
            below = merged
        }
        history.now = time + Int64(random.next() % UInt64(2 * day))
        return history
    }

    static func policy(_ random: inout SplitMix) -> RetentionPolicy {
        RetentionPolicy(
            pointInTimeMilliseconds: hour + Int64(random.next() % UInt64(5 * day)),
            hourly: Int(random.next() % 60), daily: Int(random.next() % 12), weekly: Int(random.next() % 6))
    }

    /// Whether `txid` restores from `files`: a snapshot at or before it and
    /// files continuing it without a hole to exactly `txid` (found here
    /// independently of `RestorePlan`).
    static func restorable(_ txid: UInt64, _ files: [LTXFileInfo]) -> Bool {
        let segments = files.filter { !$0.isSnapshot && $0.maxTXID <= txid }.sorted { $0.minTXID < $1.minTXID }
        for snapshot in files where snapshot.isSnapshot && snapshot.maxTXID <= txid {
            var reached: Set<UInt64> = [snapshot.maxTXID]
            for file in segments where file.minTXID > snapshot.maxTXID && reached.contains(file.minTXID - 1) {
                reached.insert(file.maxTXID)
            }
            if reached.contains(txid) { return true }
        }
        return false
    }

    /// The points each tier must keep, found from `files` before deletion:
    /// the newest restorable listed point of each of its newest `count` buckets.
    static func promised(_ files: [LTXFileInfo], windowStart: Int64, policy: RetentionPolicy) -> Set<UInt64> {
        let monday = 4 * day
        let tiers: [(Int64) -> Int64] = [{ $0 / hour }, { $0 / day }, { ($0 - monday) / (7 * day) }]
        let counts = [policy.hourly, policy.daily, policy.weekly]
        var points = Set<UInt64>()
        for (bucket, count) in zip(tiers, counts) where count > 0 {
            var newest: [Int64: UInt64] = [:]
            for file in files {
                guard let time = file.timestampMilliseconds, time <= windowStart, restorable(file.maxTXID, files)
                else { continue }
                newest[bucket(time)] = max(newest[bucket(time)] ?? 0, file.maxTXID)
            }
            for key in newest.keys.sorted(by: >).prefix(count) { points.insert(newest[key]!) }
        }
        return points
    }

    static func removing(_ doomed: [LTXFileInfo], from files: [LTXFileInfo]) -> [LTXFileInfo] {
        let keys = Set(doomed.map(\.key))
        return files.filter { !keys.contains($0.key) }
    }

    @Test(arguments: 0..<200)
    func everyPromisedPointRestoresAfterDeletionEvenIfItStoppedHalfway(seed: Int) {
        var random = SplitMix(seed: UInt64(seed) &* 0x2545_F491_4F6C_DD1D)
        let history = Self.history(&random)
        let policy = Self.policy(&random)
        let windowStart = history.now - policy.pointInTimeMilliseconds
        let before = history.files
        let inWindow = before.filter { history.times[$0.key]! > windowStart && Self.restorable($0.maxTXID, before) }
        let promised = Self.promised(before, windowStart: windowStart, policy: policy)

        let doomed = RetentionPlan.deletions(files: before, nowMilliseconds: history.now, policy: policy)
        // A crash after a random part of the deletions, then a new plan on what is left.
        let done = doomed.shuffled(using: &random).prefix(Int(random.next() % UInt64(doomed.count + 1)))
        let halfway = Self.removing(Array(done), from: before)
        let rest = RetentionPlan.deletions(files: halfway, nowMilliseconds: history.now, policy: policy)
        // After the crash the plan deletes the rest of what it meant to, and nothing it kept.
        #expect(Set(rest.map(\.key)) == Set(doomed.map(\.key)).subtracting(done.map(\.key)), "seed \(seed)")
        let after = Self.removing(rest, from: halfway)

        for file in inWindow {
            #expect(Self.restorable(file.maxTXID, after), "seed \(seed): window point \(file.maxTXID) lost")
        }
        for point in promised {
            #expect(Self.restorable(point, after), "seed \(seed): tier point \(point) lost")
        }
        // Idempotent: the next pass deletes nothing.
        #expect(RetentionPlan.deletions(files: after, nowMilliseconds: history.now, policy: policy).isEmpty)
        // Without tiers the same history loses at least as much.
        let plain = RetentionPlan.deletions(
            files: before, nowMilliseconds: history.now, retentionMilliseconds: policy.pointInTimeMilliseconds)
        #expect(Set(doomed.map(\.key)).isSubset(of: Set(plain.map(\.key))))
    }

    @Test func hourlyPointsKeepTheirChainFromTheDaysSnapshot() {
        let hour = Self.hour
        func file(_ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, at time: Int64) -> LTXFileInfo {
            LTXFileInfo(level: level, minTXID: minTXID, maxTXID: maxTXID, timestampMilliseconds: time)
        }
        // A day's snapshot at 0 h, one level-3 file per hour, level-0 files under them, a new snapshot at 5 h.
        let files = [
            file(9, 1, 10, at: 0), file(0, 11, 20, at: hour), file(3, 11, 20, at: hour),
            file(0, 21, 30, at: 2 * hour), file(3, 21, 30, at: 2 * hour), file(0, 31, 40, at: 3 * hour),
            file(3, 31, 40, at: 3 * hour), file(9, 1, 40, at: 3 * hour), file(0, 41, 50, at: 6 * hour),
        ]
        let now = 6 * hour + 1
        let window = RetentionPolicy(pointInTimeMilliseconds: 3 * hour)
        #expect(RetentionPlan.deletions(files: files, nowMilliseconds: now, policy: window).count == 7)
        var hourly = window
        hourly.hourly = 2  // the points of 3 h (the anchor snapshot itself) and 2 h
        let doomed = RetentionPlan.deletions(files: files, nowMilliseconds: now, policy: hourly)
        #expect(Set(doomed.map(\.key)) == Set([files[1], files[3], files[5], files[6]].map(\.key)))
        #expect(
            RetentionPlan.tierPoints(files: files, windowStartMilliseconds: 3 * hour, policy: hourly) == [30, 40])
    }
}
