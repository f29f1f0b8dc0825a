import Testing

@testable import BatonCore

@Suite struct PromotionStateMachineTests {
    typealias Copy = PromotionStateMachine.LocalCopy
    typealias Newest = PromotionStateMachine.StoreNewest

    /// A promotion of `databases` with the old holder's stream stopped.
    func started(_ databases: [String]) -> PromotionStateMachine {
        var machine = PromotionStateMachine(databases: databases)
        #expect(machine.start() == .stopFollowing)
        #expect(machine.handle(.followingStopped) == .inspect(database: databases[0]))
        return machine
    }

    @Test func aStandbyAheadOfTheStoreKeepsItsCopy() {
        var machine = started(["app"])
        let copy = Copy(txid: 120, epoch: 4, exists: true)
        #expect(
            machine.handle(.inspected(database: "app", local: copy, store: Newest(txid: 117, epoch: 4)))
                == .startReplicating(["app": 120]))
        #expect(machine.handle(.replicating) == .startApp)
        #expect(machine.handle(.appReady) == .end(.serving(["app": .kept(txid: 120)])))
    }

    @Test func aCopyBehindTheStoreCatchesUpWithoutBeingKeptAsideWhenItIsInTheHistory() {
        var machine = started(["app"])
        let copy = Copy(txid: 90, epoch: 4, exists: true)
        #expect(
            machine.handle(.inspected(database: "app", local: copy, store: Newest(txid: 117, epoch: 4)))
                == .checkHistory(database: "app"))
        #expect(
            machine.handle(.historyChecked(database: "app", contains: true))
                == .restore(database: "app", keepAside: false))
        #expect(machine.handle(.restored(database: "app")) == .startReplicating(["app": 0]))
    }

    @Test func aCopyWithWritesTheStoreNeverSawIsKeptAside() {
        // An old holder's copy at a higher TXID, but written by an older epoch: it diverged.
        var machine = started(["app"])
        let copy = Copy(txid: 130, epoch: 3, exists: true)
        #expect(
            machine.handle(.inspected(database: "app", local: copy, store: Newest(txid: 125, epoch: 4)))
                == .checkHistory(database: "app"))
        #expect(
            machine.handle(.historyChecked(database: "app", contains: false))
                == .restore(database: "app", keepAside: true))
        #expect(machine.handle(.restored(database: "app")) == .startReplicating(["app": 0]))
        #expect(machine.handle(.replicating) == .startApp)
        #expect(machine.handle(.appReady) == .end(.serving(["app": .restored(keptAside: true)])))
    }

    @Test func aMissingCopyIsRestoredWithoutLookingItUp() {
        var machine = started(["app"])
        #expect(
            machine.handle(
                .inspected(
                    database: "app", local: Copy(txid: nil, epoch: 0, exists: false), store: Newest(txid: 9, epoch: 1))
            ) == .restore(database: "app", keepAside: false))
    }

    @Test func anEmptyStoreStartsFromTheLocalFile() {
        var machine = started(["app"])
        #expect(
            machine.handle(
                .inspected(database: "app", local: Copy(txid: nil, epoch: 0, exists: true), store: nil))
                == .startReplicating(["app": 0]))
    }

    @Test func aGroupOfFourWithOneLaggingDatabaseStartsTheAppOnlyOnceAllAreCurrent() {
        let group = ["production", "cache", "queue", "cable"]
        var machine = started(group)
        #expect(
            machine.handle(
                .inspected(
                    database: "production", local: Copy(txid: 50, epoch: 2, exists: true),
                    store: Newest(txid: 50, epoch: 2))
            ) == .inspect(database: "cache"))
        #expect(
            machine.handle(
                .inspected(
                    database: "cache", local: Copy(txid: 800, epoch: 2, exists: true),
                    store: Newest(txid: 790, epoch: 2))
            ) == .inspect(database: "queue"))
        // The queue's copy lags the store (the stream broke for it): it catches up first.
        #expect(
            machine.handle(
                .inspected(
                    database: "queue", local: Copy(txid: 4000, epoch: 2, exists: true),
                    store: Newest(txid: 4410, epoch: 2))
            ) == .checkHistory(database: "queue"))
        #expect(
            machine.handle(.historyChecked(database: "queue", contains: true))
                == .restore(database: "queue", keepAside: false))
        #expect(machine.handle(.restored(database: "queue")) == .inspect(database: "cable"))
        #expect(
            machine.handle(
                .inspected(database: "cable", local: Copy(txid: 7, epoch: 2, exists: true), store: nil))
                == .startReplicating(["production": 50, "cache": 800, "queue": 0, "cable": 7]))
        #expect(machine.handle(.replicating) == .startApp)
        #expect(
            machine.handle(.appReady)
                == .end(
                    .serving([
                        "production": .kept(txid: 50), "cache": .kept(txid: 800), "queue": .restored(keptAside: false),
                        "cable": .kept(txid: 7),
                    ])))
    }

    @Test func aFailureOrALostLeaseEndsThePromotionOnce() {
        var machine = started(["a", "b"])
        #expect(
            machine.handle(.failed(reason: "the store cannot be listed"))
                == .end(.failed(reason: "the store cannot be listed")))
        #expect(machine.handle(.leaseLost) == .none)
        #expect(machine.outcome == .failed(reason: "the store cannot be listed"))

        var other = started(["a"])
        #expect(
            other.handle(.inspected(database: "a", local: Copy(txid: 1, epoch: 1, exists: true), store: nil))
                == .startReplicating(["a": 1]))
        #expect(other.handle(.leaseLost) == .end(.leaseLost))
    }

    @Test func anInspectionOfTheWrongDatabaseFailsLoudly() async {
        await #expect(processExitsWith: .failure) {
            var machine = PromotionStateMachine(databases: ["production", "queue"])
            _ = machine.start()
            _ = machine.handle(.followingStopped)
            _ = machine.handle(
                .inspected(database: "queue", local: .init(txid: 1, epoch: 1, exists: true), store: nil))
        }
    }
}
