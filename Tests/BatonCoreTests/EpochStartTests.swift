import BatonCore
import Testing

@Suite struct EpochStartTests {
    @Test func aMarkerIsAKeyThatSaysItsEpochAndStart() {
        let start = EpochStart(epoch: 12, txid: 0x3f1)
        #expect(start.key == "epochs/000000000000000c-00000000000003f1")
        #expect(EpochStart(key: start.key) == start)
        for bad in [
            "epochs/000000000000000c", "epochs/000000000000000c-3f1", "ltx/0/000000000000000c-00000000000003f1",
            "epochs/0000000000000000-0000000000000001", "epochs/000000000000000c-0000000000000000",
            "epochs/00000000000000zz-0000000000000001", "epochs/000000000000000c-00000000000003f1-2",
        ] {
            #expect(EpochStart(key: bad) == nil, "\(bad)")
        }
    }

    @Test func aRetriedStartCountsItsEarliestMarker() {
        let keys = [
            EpochStart(epoch: 3, txid: 50).key, EpochStart(epoch: 3, txid: 40).key, EpochStart(epoch: 4, txid: 90).key,
            "epochs/stray",
        ]
        #expect(EpochStart.starts(fromKeys: keys) == [3: 40, 4: 90])
    }

    @Test func anEpochStartsWhereItsSegmentsOrSnapshotsBeginNeverAtACompaction() {
        #expect(
            EpochStart.first(of: [
                LTXFileInfo(level: 0, minTXID: 30, maxTXID: 31), LTXFileInfo(level: 0, minTXID: 21, maxTXID: 29),
            ]) == 21)
        // A snapshot claims only the state it shows.
        #expect(EpochStart.first(of: [LTXFileInfo(level: 9, minTXID: 1, maxTXID: 77)]) == 77)
        #expect(EpochStart.first(of: [LTXFileInfo(level: 1, minTXID: 5, maxTXID: 9)]) == nil)
        #expect(EpochStart.first(of: []) == nil)
    }
}
