import Testing

@testable import BatonCore

@Suite struct CompactionAndRetentionTests {
    func file(_ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, at time: Int64 = 0) -> LTXFileInfo {
        LTXFileInfo(level: level, minTXID: minTXID, maxTXID: maxTXID, timestampMilliseconds: time)
    }

    @Test func mergesTheContiguousRunAfterTheLastCompaction() {
        let files = [
            file(9, 1, 1), file(0, 2, 2), file(0, 3, 4), file(1, 2, 4), file(0, 5, 5), file(0, 6, 8), file(0, 10, 10),
        ]
        #expect(CompactionPlan.nextRun(files: files, level: 1) == [file(0, 5, 5), file(0, 6, 8)])
        #expect(CompactionPlan.nextRun(files: files, level: 2) == nil)  // one level-1 file only
        // Where the level reaches, known without its files (a listing that starts there).
        let partial = [file(0, 3, 4), file(0, 5, 5), file(0, 6, 8)]
        #expect(CompactionPlan.nextRun(files: partial, level: 1, after: 4) == [file(0, 5, 5), file(0, 6, 8)])
    }

    @Test func aGapStartsANewRun() {
        let files = [file(9, 1, 5), file(0, 6, 6), file(0, 8, 8), file(0, 9, 9)]
        // 7 is missing (a resync snapshot covers it): the run after the gap is merged next time.
        #expect(CompactionPlan.nextRun(files: files, level: 1) == nil)
        let later = files + [file(1, 6, 6)]
        #expect(CompactionPlan.nextRun(files: later, level: 1) == [file(0, 8, 8), file(0, 9, 9)])
    }

    @Test func retentionKeepsEverythingFromTheAnchorSnapshotOn() {
        let files = [
            file(9, 1, 1, at: 0), file(0, 2, 5, at: 100), file(9, 1, 5, at: 500), file(0, 6, 9, at: 600),
            file(1, 2, 9, at: 600), file(9, 1, 9, at: 2000), file(0, 10, 12, at: 2100),
        ]
        let deleted = RetentionPlan.deletions(files: files, nowMilliseconds: 2500, retentionMilliseconds: 1000)
        #expect(deleted == [file(9, 1, 1, at: 0), file(0, 2, 5, at: 100)])
        // Every point in the window still restores.
        let kept = files.filter { !deleted.contains($0) }
        for txid: UInt64 in [5, 9, 12] {
            #expect(throws: Never.self) { try RestorePlan.make(files: kept, target: .txid(txid)) }
        }
    }

    @Test func noAnchorNoDeletion() {
        let files = [file(9, 1, 1, at: 900), file(0, 2, 5, at: 950)]
        #expect(RetentionPlan.deletions(files: files, nowMilliseconds: 1000, retentionMilliseconds: 500).isEmpty)
    }
}
