import Testing

@testable import BatonCore

/// A second store's copier lists each folder of the primary after its mark;
/// a new epoch moves the marks back so its files are never skipped.
@Suite struct MirrorProgressTests {
    func key(_ level: Int, _ min: UInt64, _ max: UInt64) -> String {
        LTXFileInfo(level: level, minTXID: min, maxTXID: max).key
    }

    @Test func marksMoveForwardAndTheNewestStateIsTracked() {
        var progress = MirrorProgress()
        #expect(progress.startAfter("ltx/0/") == nil)
        progress.copied(key(0, 1, 10), in: "ltx/0/", nowMilliseconds: 5)
        progress.copied(key(0, 11, 12), in: "ltx/0/", nowMilliseconds: 6)
        // A listing never goes back: an older key does not move the mark.
        progress.copied(key(0, 3, 4), in: "ltx/0/", nowMilliseconds: 7)
        #expect(progress.startAfter("ltx/0/") == key(0, 11, 12))
        #expect(progress.txid == 12 && progress.copiedMilliseconds == 6)
        // A compaction moves its own mark only; the newest state is the level-0 files' and the snapshots'.
        progress.copied(key(1, 1, 12), in: "ltx/1/", nowMilliseconds: 8)
        #expect(progress.startAfter("ltx/1/") == key(1, 1, 12))
        #expect(progress.txid == 12 && progress.copiedMilliseconds == 6)
        progress.copied(key(9, 1, 40), in: "ltx/9/", nowMilliseconds: 9)
        #expect(progress.txid == 40)
    }

    @Test func aNewEpochsFilesAreListedEvenBehindADeposedHoldersLateFiles() {
        var progress = MirrorProgress()
        // The deposed holder's late files, copied before the new epoch's marker appeared.
        progress.copied(key(0, 100, 110), in: "ltx/0/", nowMilliseconds: 1)
        progress.copied(key(0, 111, 120), in: "ltx/0/", nowMilliseconds: 1)
        progress.copied(key(1, 50, 120), in: "ltx/1/", nowMilliseconds: 1)
        progress.copied(key(0, 20, 30), in: "ltx/0/", nowMilliseconds: 1)
        // Epoch 5 starts at 101: its first file (101-105) sorts before the mark 111-120.
        let newFile = key(0, 101, 105)
        #expect(newFile < progress.startAfter("ltx/0/")!)
        progress.epochStarted(EpochStart(epoch: 5, txid: 101))
        let mark = progress.startAfter("ltx/0/")!
        #expect(newFile > mark)
        // Everything that ends before the start stays behind the mark: it is not listed again.
        #expect(key(0, 20, 30) < mark && key(0, 91, 100) < mark && key(0, 100, 110) < mark)
        #expect(progress.startAfter("ltx/1/")! < key(1, 101, 200))
        // Marks already before the start stay.
        var early = MirrorProgress()
        early.copied(key(0, 1, 5), in: "ltx/0/", nowMilliseconds: 1)
        early.epochStarted(EpochStart(epoch: 2, txid: 50))
        #expect(early.startAfter("ltx/0/") == key(0, 1, 5))
    }

    @Test func progressSurvivesItsJSONAndGarbageIsRefused() throws {
        var progress = MirrorProgress()
        progress.copied(key(0, 1, 9), in: "ltx/0/", nowMilliseconds: 42)
        progress.copied("epochs/0000000000000002-0000000000000005", in: "epochs/", nowMilliseconds: 42)
        #expect(try MirrorProgress(decoding: try progress.encoded()) == progress)
        #expect(throws: BatonError.self) { try MirrorProgress(decoding: Array("not json".utf8)) }
        #expect(MirrorProgress.folders.first == "epochs/" && MirrorProgress.folders.last == "ltx/0/")
    }
}
