import Testing

@testable import BatonCore

@Suite struct SyncAcknowledgementTests {
    func facts(
        named: String? = "b", position: UInt64? = 9, stored: UInt64 = 0, lease: Bool = true, waited: Int64 = 0,
        policy: SyncAcknowledgement.Policy = .degrade
    ) -> SyncAcknowledgement.Facts {
        .init(
            target: 10, syncStandby: named, standbyPosition: position, storedTXID: stored, leaseValid: lease,
            waitedMilliseconds: waited, standbyTimeoutMilliseconds: 1000, deadlineMilliseconds: 15_000,
            policy: policy)
    }

    @Test func theNamedStandbyAcknowledgesOnceItHasTheTransaction() {
        #expect(SyncAcknowledgement.decide(facts(position: 9)) == .wait)
        #expect(SyncAcknowledgement.decide(facts(position: 10)) == .acknowledgedByStandby("b"))
        #expect(SyncAcknowledgement.decide(facts(position: 12, lease: false)) == .acknowledgedByStandby("b"))
    }

    @Test func degradeDropsTheStandbyFromTheLeaseBeforeTheStoreMayAcknowledge() {
        // The store has it, but the lease still names b: b's copy would be trusted alone.
        #expect(SyncAcknowledgement.decide(facts(stored: 10, waited: 500)) == .wait)
        #expect(SyncAcknowledgement.decide(facts(stored: 10, waited: 1000)) == .waitDroppingStandby)
        // Recorded: no standby in sync. Now only the store counts.
        #expect(SyncAcknowledgement.decide(facts(named: nil, position: nil, stored: 9)) == .waitForStore)
        #expect(SyncAcknowledgement.decide(facts(named: nil, position: nil, stored: 10)) == .acknowledgedByStore)
    }

    @Test func theStoreAcknowledgesOnlyWhileTheLeaseIsHeld() {
        let decision = SyncAcknowledgement.decide(facts(named: nil, position: nil, stored: 10, lease: false))
        guard case .unconfirmed(let reason) = decision else {
            Issue.record("expected unconfirmed, got \(decision)")
            return
        }
        #expect(reason.contains("lost the lease"))
    }

    @Test func strictWaitsForAStandbyUntilTheDeadline() {
        #expect(SyncAcknowledgement.decide(facts(stored: 10, waited: 5000, policy: .strict)) == .wait)
        #expect(SyncAcknowledgement.decide(facts(named: nil, position: nil, stored: 10, policy: .strict)) == .wait)
        let late = SyncAcknowledgement.decide(facts(waited: 15_000, policy: .strict))
        #expect(late == .unconfirmed("standby b did not confirm transaction 10 within 15s"))
    }

    @Test func aGroupIsAcknowledgedOnlyWhenEveryDatabaseIs() {
        func at(_ target: UInt64, position: UInt64?, stored: UInt64 = 0, named: String? = "b", waited: Int64 = 0)
            -> SyncAcknowledgement.Facts
        {
            var result = facts(named: named, position: position, stored: stored, waited: waited)
            result.target = target
            return result
        }
        // The queue database's write is not on the standby yet: the response waits.
        #expect(
            SyncAcknowledgement.decide(group: ["primary": at(10, position: 10), "queue": at(4, position: 3)]) == .wait)
        #expect(
            SyncAcknowledgement.decide(group: ["primary": at(10, position: 10), "queue": at(4, position: 4)])
                == .acknowledgedByStandby("b"))
        // One database past the standby timeout drops the standby for all.
        #expect(
            SyncAcknowledgement.decide(group: [
                "primary": at(10, position: 10, waited: 1000), "queue": at(4, position: 3, waited: 1000),
            ]) == .waitDroppingStandby)
        // No standby named: every database must be in the store.
        #expect(
            SyncAcknowledgement.decide(group: [
                "primary": at(10, position: nil, stored: 10, named: nil),
                "queue": at(4, position: nil, stored: 3, named: nil),
            ]) == .waitForStore)
        #expect(
            SyncAcknowledgement.decide(group: [
                "primary": at(10, position: nil, stored: 10, named: nil),
                "queue": at(4, position: nil, stored: 4, named: nil),
            ]) == .acknowledgedByStore)
    }

    @Test func aGroupWriteIsUnconfirmedNamingTheDatabaseThatFailed() {
        var lost = facts(named: nil, position: nil, stored: 0, lease: false)
        lost.target = 4
        let decision = SyncAcknowledgement.decide(group: ["primary": facts(position: 10), "queue": lost])
        guard case .unconfirmed(let reason) = decision else {
            Issue.record("expected unconfirmed, got \(decision)")
            return
        }
        #expect(reason.hasPrefix("queue: "))
    }
}
