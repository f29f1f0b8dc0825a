import BatonCore
import BatonStore

extension ReplicaShipper {
    /// Runs the compaction levels that are due and have new input files,
    /// then retention (at most every tenth of the window, and every 5 min).
    /// Lists the store only when some level has work, and each level only
    /// from where it was (`compactionCandidates`): after writes stop, each
    /// level runs at most once more.
    func compactAndRetain(now: Int64) async throws {
        let intervals = options.compactionIntervalsMilliseconds
        if intervals.isEmpty {
            // No compaction: retention still runs, at most once a minute after new files.
            guard levelsWithNewInputs.contains(1), now - lastRetentionMilliseconds >= 60_000 else { return }
            try await retain(try await ReplicaCatalog.files(in: store, headers: false), now: now)
            levelsWithNewInputs.remove(1)
            lastRetentionMilliseconds = now
            return
        }
        let due = intervals.indices.map { $0 + 1 }.filter { level in
            levelsWithNewInputs.contains(level)
                && (now - (lastCompactionMilliseconds[level] ?? 0) >= intervals[level - 1]
                    || (level == 1 && levelZeroSinceCompaction >= options.compactionFileThreshold))
        }
        guard !due.isEmpty else { return }
        for level in due {
            var (files, reached) = try await compactionCandidates(level)
            var merged = 0
            while let run = CompactionPlan.nextRun(files: files, level: level, after: reached), merged < 100 {
                let info = try await Compactor(store: store, pending: pending).compact(run, into: level)
                // The merged file is sealed: the inputs' local copies are done with.
                if level == 1 { pending.uploaded.forget(run) }
                _ = try await sendPending()
                counters.withLock { $0.compactions += 1 }
                files.append(info)
                merged += 1
            }
            compactedThrough[level] = max(reached, files.filter { $0.level == level }.map(\.maxTXID).max() ?? 0)
            if merged > 0 && level < intervals.count { levelsWithNewInputs.insert(level + 1) }
            if level == 1 { levelZeroSinceCompaction = 0 }
            levelsWithNewInputs.remove(level)
            lastCompactionMilliseconds[level] = now
        }
        // Retention needs the whole listing (thousands of keys): not at every pass.
        let retentionEvery = min(options.retentionMilliseconds / 10, 300_000)
        guard now - lastRetentionMilliseconds >= retentionEvery else { return }
        try await retain(try await ReplicaCatalog.files(in: store, headers: false), now: now)
        lastRetentionMilliseconds = now
    }

    /// The files `level` merges from and into: its own files (only those
    /// past what this process saw it reach) and the files one level down
    /// that start after its newest, not the replica's whole history; and
    /// where the level reaches.
    private func compactionCandidates(_ level: Int) async throws -> (files: [LTXFileInfo], reached: UInt64) {
        let own = "ltx/\(level)/"
        let listed = try await store.list(
            prefix: own, startAfter: compactedThrough[level].map { own + LTXFileInfo.hex($0) })
        let files = listed.compactMap { LTXFileInfo(key: $0.key, size: $0.size) }
        let done = max(compactedThrough[level] ?? 0, files.map(\.maxTXID).max() ?? 0)
        let below = "ltx/\(level - 1)/"
        let inputs = try await store.list(prefix: below, startAfter: below + LTXFileInfo.hex(done))
        return (files + inputs.compactMap { LTXFileInfo(key: $0.key, size: $0.size) }, done)
    }

    /// Deletes the files no restore inside the retention window needs.
    func retain(_ files: [LTXFileInfo], now: Int64) async throws {
        let doomed = try await Self.retentionDeletions(
            files, in: store, nowMilliseconds: now, policy: options.retentionPolicy)
        headers.noteListing(
            keys: Set(files.map(\.key)).subtracting(doomed.map(\.key)), startedMilliseconds: now)
        for file in doomed {
            try await store.delete(file.key, ifMatch: nil)
            counters.withLock { $0.filesDeleted += 1 }
        }
        if !doomed.isEmpty { log("retention: deleted \(doomed.count) files older than the window") }
    }

    /// The files of a whole listing no restore inside the window needs
    /// (`RetentionPlan`), the snapshots' times read from their headers.
    static func retentionDeletions(
        _ files: [LTXFileInfo], in store: any ObjectStore, nowMilliseconds: Int64, policy: RetentionPolicy
    ) async throws -> [LTXFileInfo] {
        // Times from the headers: the snapshots', and with tiers the top compaction level's
        // (its files are the hourly points: one an hour by default).
        let top = files.map(\.level).filter { $0 < LTXFileInfo.snapshotLevel }.max()
        let timed = files.filter {
            $0.level == LTXFileInfo.snapshotLevel || (policy.hasTiers && $0.level == top && $0.level > 0)
        }
        let times = Dictionary(
            try await ReplicaCatalog.withHeaders(timed, in: store).map { ($0.key, $0.timestampMilliseconds) },
            uniquingKeysWith: { first, _ in first })
        var withTimes = files
        for index in withTimes.indices {
            if let time = times[withTimes[index].key] { withTimes[index].timestampMilliseconds = time }
        }
        return RetentionPlan.deletions(files: withTimes, nowMilliseconds: nowMilliseconds, policy: policy)
    }
}
