import BatonCore
import BatonReplication
import BatonStore
import BatonSystem
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The lease's in-sync standby (sync mode): written by the holder's renewals,
/// and reserving an expired lease for that standby (or the old holder).
@Suite struct LeaseSyncStandbyTests {
    let directory = "/tmp/baton-leasesync-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    // Long enough that a slow store write under the parallel suite (seen: 1.7 s) still leaves the
    // lease provable; the test expires records by writing them, not by waiting.
    let timing = LeaseStateMachine.Timing(ttlMilliseconds: 15_000)

    func client(_ name: String, _ store: FileStore) -> LeaseClient {
        LeaseClient(store: store, holder: name, address: "http://\(name)", timing: timing)
    }

    @Test func theHolderRecordsItsInSyncStandbyAndOnlyItOrTheOldHolderMayTakeTheExpiredLease() async throws {
        try FileSystem.makeDirectories(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileStore(root: directory + "/replica")
        let a = client("a", store)
        guard case .acquired(let epoch) = try await a.tryAcquire() else {
            Issue.record("a should take a fresh lease")
            return
        }
        #expect(a.recordedSyncStandby == nil)
        // Of several writes asking for the same change, one is told it asked first (it logs it).
        #expect(a.requestSyncStandby("b"))
        #expect(!a.requestSyncStandby("b"))
        #expect(await a.maintain())  // writes at once, not at the next due renewal
        #expect(a.recordedSyncStandby == "b")
        #expect(try await LeaseClient.read(store)?.record.syncStandby == "b")

        // a dies; its record expires (written as expired here, keeping the epoch and the name).
        try await expire(store)

        let c = client("c", store)
        guard case .reserved(let record) = try await c.tryAcquire(honoringSyncStandby: true) else {
            Issue.record("c is not the in-sync standby and must leave the lease to b")
            return
        }
        #expect(record.syncStandby == "b" && record.epoch == epoch)
        // The old holder restarted after a crash (its copy's position unknown): it leaves it to b too;
        // knowing its position (it fenced itself and kept its copy), it may take it back.
        let restarted = client("a", store)
        guard
            case .reserved = try await restarted.tryAcquire(honoringSyncStandby: true, oldHolderKnowsItsPosition: false)
        else {
            Issue.record("a restarted without knowing its position and must leave the lease to b")
            return
        }
        // Without the rule (batch jobs, async clusters) the lease is simply expired.
        let b = client("b", store)
        guard case .acquired(let next) = try await b.tryAcquire(honoringSyncStandby: true) else {
            Issue.record("b is the in-sync standby and may take it")
            return
        }
        #expect(next == epoch + 1)
        // Until b serves, its record still names b: if its takeover fails, the confirmed writes
        // are still b's alone, and neither c nor the restarted old holder may take the lease.
        #expect(b.recordedSyncStandby == "b")
        #expect(try await LeaseClient.read(store)?.record.syncStandby == "b")
        try await expire(store)
        guard case .reserved = try await c.tryAcquire(honoringSyncStandby: true),
            case .reserved = try await restarted.tryAcquire(honoringSyncStandby: true, oldHolderKnowsItsPosition: false)
        else {
            Issue.record("b's takeover failed: the lease is b's alone until it serves")
            return
        }
        let retried = client("b", store)
        guard case .acquired = try await retried.tryAcquire(honoringSyncStandby: true) else {
            Issue.record("b may take its own reserved lease again")
            return
        }
        // Serving, the new term names nobody until its own standby keeps up.
        #expect(retried.dropInheritedSyncStandby() == "b")
        #expect(retried.dropInheritedSyncStandby() == nil)
        #expect(await retried.maintain())
        #expect(retried.recordedSyncStandby == nil)
        #expect(try await LeaseClient.read(store)?.record.syncStandby == nil)
    }

    @Test func droppingTheInheritedStandbyKeepsOneAskedForSince() async throws {
        try FileSystem.makeDirectories(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileStore(root: directory + "/replica")
        let a = client("a", store)
        _ = try await a.tryAcquire()
        a.requestSyncStandby("b")
        #expect(await a.maintain())
        try await expire(store)
        // The old holder knows its position and takes its lease back: b keeps its claim meanwhile.
        let back = client("a", store)
        guard case .acquired = try await back.tryAcquire(honoringSyncStandby: true) else {
            Issue.record("the old holder knowing its position may take it back")
            return
        }
        #expect(try await LeaseClient.read(store)?.record.syncStandby == "b")
        // b caught up with the new term's stream before the promotion ended: it stays named.
        back.requestSyncStandby("b")
        #expect(back.dropInheritedSyncStandby() == nil)
        #expect(await back.maintain())
        #expect(try await LeaseClient.read(store)?.record.syncStandby == "b")
    }

    /// Writes the record as expired (keeping everything else), as a crash would leave it once its TTL passed.
    func expire(_ store: FileStore) async throws {
        var record = try #require(try await LeaseClient.read(store))
        record.record.expiresAtMilliseconds = 0
        _ = try await store.put(LeaseClient.key, data: record.record.encoded(), condition: .ifMatch(record.etag))
    }
}
