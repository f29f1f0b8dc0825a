import BatonCore
import Testing

/// What a promoted standby may seal from its own record of the stream: the
/// transactions after the store's newest, exactly, or nothing.
@Suite struct RecentTransactionsTests {
    func entry(_ txid: UInt64, pages: [UInt32], pre: UInt64? = nil) -> RecentTransactions.Entry {
        .init(
            minTXID: txid, maxTXID: txid, pages: pages, preApplyChecksum: pre ?? txid * 10 - 10,
            postApplyChecksum: txid * 10, timestampMilliseconds: Int64(txid))
    }

    @Test func theTailMergesThePagesAfterAPosition() {
        var recent = RecentTransactions()
        for (txid, pages) in [(5, [1, 2]), (6, [2, 7]), (7, [3]), (8, [7, 9])] as [(UInt64, [UInt32])] {
            recent.record(entry(txid, pages: pages))
        }
        #expect(
            recent.tail(after: 5)
                == .init(
                    minTXID: 6, maxTXID: 8, pages: [2, 3, 7, 9], preApplyChecksum: 50, postApplyChecksum: 80,
                    timestampMilliseconds: 8))
        #expect(recent.tail(after: 4)?.pages == [1, 2, 3, 7, 9])
        // Nothing after the newest, and nothing from before the record starts.
        #expect(recent.tail(after: 8) == nil)
        #expect(recent.tail(after: 3) == nil)
    }

    @Test func aTransactionThatDoesNotContinueStartsOver() {
        var recent = RecentTransactions()
        recent.record(entry(5, pages: [1]))
        recent.record(entry(6, pages: [2]))
        // A rebuilt copy: the next transaction is not 7.
        recent.record(entry(20, pages: [4]))
        #expect(recent.kept.map(\.minTXID) == [20])
        // Same TXID but another history (the checksum before it is not the last one's after).
        recent.record(entry(21, pages: [5], pre: 999))
        #expect(recent.kept.map(\.minTXID) == [21])
        #expect(recent.tail(after: 19) == nil)
        #expect(recent.tail(after: 20)?.pages == [5])
    }

    @Test func theOldestGoPastTheBound() {
        var recent = RecentTransactions(maxPages: 10)
        for txid in UInt64(1)...3000 { recent.record(entry(txid, pages: [1, 2, 3])) }
        #expect(recent.kept.count == 3)
        #expect(recent.kept.first?.minTXID == 2998)
        #expect(recent.tail(after: 2997)?.maxTXID == 3000)
        #expect(recent.tail(after: 2996) == nil)
        recent.reset()
        #expect(recent.kept.isEmpty && recent.tail(after: 2999) == nil)
    }
}
