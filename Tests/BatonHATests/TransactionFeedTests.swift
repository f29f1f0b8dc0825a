import BatonReplication
import Testing

@testable import BatonHA

@Suite struct TransactionFeedTests {
    func entry(_ txid: UInt64, bytes: Int = 10) -> StreamedTransaction {
        StreamedTransaction(
            txid: txid, ltx: [UInt8](repeating: UInt8(txid & 0xFF), count: bytes), postApplyChecksum: 1000 + txid)
    }

    @Test func answersWhatFollowsAStandbysPosition() {
        let feed = TransactionFeed()
        #expect(feed.answer(after: 0, checksum: 0) == .unavailable)
        feed.restarted(txid: 5, checksum: 1005)
        #expect(feed.answer(after: 5, checksum: 1005) == .upToDate)
        for txid: UInt64 in 6...9 { feed.committed(entry(txid)) }
        #expect(feed.answer(after: 7, checksum: 1007) == .transactions([entry(8), entry(9)]))
        #expect(feed.answer(after: 5, checksum: 1005) == .transactions([entry(6), entry(7), entry(8), entry(9)]))
        #expect(feed.latest.txid == 9)
        #expect(feed.locate(checksum: 1008) == 8)
        #expect(feed.locate(checksum: 1005) == 5)
        #expect(feed.locate(checksum: 42) == nil)
    }

    @Test func aDifferentChecksumOrAPositionAheadIsDivergence() {
        let feed = TransactionFeed()
        feed.restarted(txid: 5, checksum: 1005)
        feed.committed(entry(6))
        guard case .diverged = feed.answer(after: 6, checksum: 999) else {
            Issue.record("a wrong checksum must be divergence")
            return
        }
        guard case .diverged = feed.answer(after: 7, checksum: 1007) else {
            Issue.record("a standby ahead of the holder must be divergence")
            return
        }
        guard case .gone = feed.answer(after: 4, checksum: 1004) else {
            Issue.record("a position before the window must be gone")
            return
        }
    }

    @Test func onlyPositionsInTheHistoryConfirmAndARestartForgetsThem() {
        let feed = TransactionFeed()
        feed.restarted(txid: 5, checksum: 1005)
        feed.committed(entry(6))
        #expect(feed.answer(after: 6, checksum: 1006).confirmsPosition)
        #expect(feed.answer(after: 5, checksum: 1005).confirmsPosition)
        #expect(!feed.answer(after: 6, checksum: 999).confirmsPosition)
        #expect(!feed.answer(after: 9, checksum: 1009).confirmsPosition)
        #expect(!feed.answer(after: 4, checksum: 1004).confirmsPosition)
        feed.acknowledge(peer: "b", txid: 6)
        #expect(feed.peerPositions == ["b": 6])
        // A new term (or a stream restart): what b confirmed before counts for nothing now.
        feed.restarted(txid: 0, checksum: 0)
        #expect(feed.peerPositions.isEmpty)
    }

    @Test func theWindowIsBoundedAndBatchesAreCapped() {
        let feed = TransactionFeed(maxBytes: 100, maxBatchBytes: 25)
        feed.restarted(txid: 0, checksum: 1000)
        for txid: UInt64 in 1...20 { feed.committed(entry(txid)) }
        // 100 bytes keep the last 10 transactions; the window starts after 10.
        #expect(feed.startTXID == 10)
        guard case .gone = feed.answer(after: 9, checksum: 1009) else {
            Issue.record("evicted positions must be gone")
            return
        }
        #expect(feed.answer(after: 10, checksum: 1010) == .transactions([entry(11), entry(12)]))
    }

    @Test func waitingEndsWhenATransactionArrives() async {
        let feed = TransactionFeed()
        feed.restarted(txid: 1, checksum: 1001)
        let started = ContinuousClock.now
        // A timeout far above any scheduling delay of a busy test run: ending well
        // before it means the commit woke the waiter.
        async let waited: Void = feed.wait(after: 1, timeoutMilliseconds: 60_000)
        try? await Task.sleep(nanoseconds: 50_000_000)
        feed.committed(entry(2))
        await waited
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(feed.answer(after: 1, checksum: 1001) == .transactions([entry(2)]))
    }
}
