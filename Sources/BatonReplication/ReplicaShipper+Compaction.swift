import BatonCore
import BatonStore

extension ReplicaShipper {
    /// Runs the compaction levels that are due and have new input files,
    /// then retention. Lists the store once per pass, and only when some level
    /// has work: after writes stop, each level runs at most once more.
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
        var files = try await ReplicaCatalog.files(in: store, headers: false)
        for level in due {
            var merged = 0
            while let run = CompactionPlan.nextRun(files: files, level: level), merged < 100 {
                let info = try await Compactor(store: store, pending: pending).compact(run, into: level)
                // The merged file is sealed: the inputs' local copies are done with.
                if level == 1 { pending.uploaded.forget(run) }
                _ = try await sendPending()
                counters.withLock { $0.compactions += 1 }
                files.append(info)
                merged += 1
            }
            if merged > 0 && level < intervals.count { levelsWithNewInputs.insert(level + 1) }
            if level == 1 { levelZeroSinceCompaction = 0 }
            levelsWithNewInputs.remove(level)
            lastCompactionMilliseconds[level] = now
        }
        try await retain(files, now: now)
    }

    /// Deletes the files no restore inside the retention window needs.
    func retain(_ files: [LTXFileInfo], now: Int64) async throws {
        var withTimes = files
        for index in withTimes.indices where withTimes[index].level == LTXFileInfo.snapshotLevel {
            withTimes[index].timestampMilliseconds = try await ReplicaCatalog.header(of: withTimes[index], in: store)
                .timestampMilliseconds
        }
        let doomed = RetentionPlan.deletions(
            files: withTimes, nowMilliseconds: now, retentionMilliseconds: options.retentionMilliseconds)
        for file in doomed {
            try await store.delete(file.key, ifMatch: nil)
            counters.withLock { $0.filesDeleted += 1 }
        }
        if !doomed.isEmpty { log("retention: deleted \(doomed.count) files older than the window") }
    }
}
