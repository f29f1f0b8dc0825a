import Testing

@testable import BatonCore

@Suite struct RestorePlanTests {
    func file(_ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, at time: Int64? = nil) -> LTXFileInfo {
        LTXFileInfo(
            level: level, minTXID: minTXID, maxTXID: maxTXID, timestampMilliseconds: time ?? Int64(maxTXID) * 1000)
    }

    @Test func latestUsesNewestSnapshotAndFewestFiles() throws {
        let files = [
            file(9, 1, 1), file(0, 2, 2), file(0, 3, 3), file(0, 4, 4), file(0, 5, 5),
            file(1, 2, 4), file(9, 1, 3),
        ]
        let plan = try RestorePlan.make(files: files, target: .latest)
        #expect(plan.targetTXID == 5)
        #expect(plan.files == [file(9, 1, 3), file(0, 4, 4), file(0, 5, 5)])
    }

    @Test func txidTargetStopsExactly() throws {
        let files = [file(9, 1, 1), file(0, 2, 2), file(0, 3, 3), file(1, 2, 3)]
        let plan = try RestorePlan.make(files: files, target: .txid(2))
        #expect(plan.files == [file(9, 1, 1), file(0, 2, 2)])
        #expect(throws: BatonError.self) { try RestorePlan.make(files: files, target: .txid(7)) }
    }

    @Test func gapIsRefusedWithItsPosition() {
        let files = [file(9, 1, 1), file(0, 2, 2), file(0, 4, 4)]
        #expect {
            try RestorePlan.make(files: files, target: .latest)
        } throws: { error in
            (error as? BatonError)?.code == .gap
                && (error as? BatonError)?.message.contains("after transaction 2") == true
        }
    }

    @Test func compactionIntoAHoleDoesNotHideAPath() throws {
        // The level-1 file reaches 3, but nothing starts at 4; smaller files go on to 5.
        let files = [file(9, 1, 1), file(1, 2, 3), file(0, 2, 2), file(0, 3, 3), file(0, 4, 5)]
        let withoutFour = files.filter { $0 != file(0, 4, 5) } + [file(0, 3, 5)]
        let plan = try RestorePlan.make(files: withoutFour, target: .latest)
        #expect(plan.files.last?.maxTXID == 5)
        #expect(plan.files.count == 3)
    }

    @Test func timestampPicksNewestStateNotAfterIt() throws {
        let files = [file(9, 1, 1, at: 100), file(0, 2, 2, at: 200), file(0, 3, 3, at: 300)]
        #expect(try RestorePlan.make(files: files, target: .timestamp(250)).targetTXID == 2)
        #expect(throws: BatonError.self) { try RestorePlan.make(files: files, target: .timestamp(50)) }
    }

    @Test func olderSnapshotIsUsedWhenTheNewestIsAfterTheTarget() throws {
        let files = [file(9, 1, 1), file(0, 2, 2), file(0, 3, 3), file(9, 1, 3)]
        let plan = try RestorePlan.make(files: files, target: .txid(2))
        #expect(plan.files == [file(9, 1, 1), file(0, 2, 2)])
    }

    @Test func reachFollowsContiguousFilesOnlyAndStopsAtAHole() {
        let files = [file(1, 11, 20), file(1, 21, 40), file(1, 41, 41), file(1, 50, 60), file(9, 1, 70)]
        #expect(RestorePlan.reach(from: 10, over: files) == 41)
        // The furthest file at each step; a position nothing continues stays where it is.
        #expect(RestorePlan.reach(from: 10, over: files + [file(1, 11, 45)]) == 45)
        #expect(RestorePlan.reach(from: 41, over: files) == 41)
        #expect(RestorePlan.reach(from: 0, over: []) == 0)
    }
}

@Suite struct EpochFencingTests {
    func file(_ minTXID: UInt64, _ maxTXID: UInt64, epoch: UInt64, level: Int = 0) -> LTXFileInfo {
        var info = LTXFileInfo(level: level, minTXID: minTXID, maxTXID: maxTXID)
        info.epoch = epoch
        return info
    }

    @Test func aDeposedHoldersLaterFilesAreIgnored() throws {
        // Epoch 1 held up to 3; epoch 2 took over at 4; epoch 1, deposed, still wrote 5.
        let files = [
            file(1, 1, epoch: 1, level: 9), file(2, 2, epoch: 1), file(3, 3, epoch: 1), file(4, 4, epoch: 2),
            file(5, 5, epoch: 1), file(5, 6, epoch: 2),
        ]
        #expect(RestorePlan.fenced(files).map(\.maxTXID) == [1, 2, 3, 4, 6])
        let plan = try RestorePlan.make(files: files, target: .latest)
        #expect(plan.files.map(\.maxTXID) == [1, 2, 3, 4, 6])
    }

    @Test func aReplicaWhollyFencedIsAClearErrorNotACrash() {
        // A chaos run: a node taking over answered with its new epoch and the start of the
        // epoch it had followed (1), which fences every file; the restore crashed on it.
        let files = [file(1, 1, epoch: 1, level: 9), file(2, 3, epoch: 1)]
        #expect(RestorePlan.fenced(files, epochStarts: [2: 1]).isEmpty)
        #expect {
            try RestorePlan.make(files: files, target: .latest, epochStarts: [2: 1])
        } throws: { error in
            (error as? BatonError)?.message.contains("deposed holder (newer epochs start: epoch 2 from 1)") == true
        }
    }

    @Test func filesBeforeATakeoverStay() {
        let files = [file(1, 1, epoch: 1, level: 9), file(2, 3, epoch: 1), file(4, 4, epoch: 2)]
        #expect(RestorePlan.fenced(files) == files)
    }

    @Test func aNewEpochsSnapshotDoesNotFenceTheHistoryBeforeIt() throws {
        // Epoch 2 took over at 4 with a snapshot of the state at 4: epoch 1's files up to 3 stay restorable.
        let files = [
            file(1, 1, epoch: 1, level: 9), file(2, 3, epoch: 1), file(4, 4, epoch: 1), file(1, 4, epoch: 2, level: 9),
        ]
        #expect(RestorePlan.fenced(files).map(\.maxTXID) == [1, 3, 4])
        #expect(try RestorePlan.make(files: files, target: .txid(3)).files.map(\.maxTXID) == [1, 3])
    }

    @Test func aLiveHoldersEpochFencesBeforeItWritesAFile() throws {
        // Epoch 2 holds from transaction 3 on but has uploaded nothing yet; epoch 1's late file at 3 is ignored.
        let files = [file(1, 1, epoch: 1, level: 9), file(2, 2, epoch: 1), file(3, 3, epoch: 1)]
        #expect(RestorePlan.fenced(files, epochStarts: [2: 3]).map(\.maxTXID) == [1, 2])
        #expect(try RestorePlan.make(files: files, target: .latest, epochStarts: [2: 3]).targetTXID == 2)
    }

    @Test func unknownEpochsAreKept() {
        let files = [LTXFileInfo(level: 9, minTXID: 1, maxTXID: 1), LTXFileInfo(level: 0, minTXID: 2, maxTXID: 2)]
        #expect(RestorePlan.fenced(files) == files)
    }
}

@Suite struct EpochFencingWithCompactionTests {
    @Test func aCompactionAcrossEpochsDoesNotFenceItsInputs() throws {
        func file(_ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, _ epoch: UInt64) -> LTXFileInfo {
            var info = LTXFileInfo(level: level, minTXID: minTXID, maxTXID: maxTXID)
            info.epoch = epoch
            return info
        }
        let files = [file(9, 1, 1, 1), file(0, 2, 2, 2), file(0, 3, 3, 3), file(1, 2, 3, 3)]
        #expect(RestorePlan.fenced(files) == files)
        #expect(try RestorePlan.make(files: files, target: .txid(2)).files.map(\.maxTXID) == [1, 2])
    }
}
