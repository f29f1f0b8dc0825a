import BatonCore
import BatonStore
import BatonSystem
import Synchronization

/// Takes, renews and releases the baton (`lease.json`) in a store, driving
/// a `LeaseStateMachine`. Expiry is judged on the store's clock; the holder's
/// own deadline on the local monotonic clock it is given (see the machine's safety argument).
/// One task drives renewals (`maintain`); any task may ask `mayWrite`,
/// which only reads the deadline and never waits for a renewal in flight.
public final class LeaseClient: Sendable {
    /// The lease's key under the replica prefix.
    public static let key = "lease.json"

    let store: any ObjectStore
    /// Who we are in the record.
    public let holder: String
    let address: String
    private let machineState: Mutex<LeaseStateMachine>
    private let timing: LeaseStateMachine.Timing
    private let syncStandbyState = Mutex(SyncStandbyState())
    /// The holder's deadlines are measured on it.
    public let clock: any BatonClock
    /// Signalled when the lease changes other than by a renewal moving its
    /// deadline on (taken, lost to another holder, released) and when a new
    /// in-sync standby is asked for: the keeper waits on it.
    public let changes: ChangeSignal

    /// The in-sync standby: what the holder wants the record to say and what it last wrote.
    private struct SyncStandbyState {
        var wanted: String?
        var recorded: String?
        /// What the expired record named when this term took it over: named
        /// on until the new holder serves (`dropInheritedSyncStandby`).
        var inherited: String?
    }

    /// A client for `store` that will write `holder` and `address` into the record.
    public init(
        store: any ObjectStore, holder: String, address: String = "", timing: LeaseStateMachine.Timing,
        clock: any BatonClock = SystemClock()
    ) {
        self.store = store
        self.clock = clock
        changes = ChangeSignal(clock: clock)
        self.holder = holder
        self.address = address
        self.timing = timing
        machineState = Mutex(LeaseStateMachine(timing: timing))
    }

    private func withMachine<T>(_ body: (inout LeaseStateMachine) -> T) -> T {
        machineState.withLock { body(&$0) }
    }

    /// The current record, its ETag and the store's time when it answered
    /// (one GET on S3), or nil when there is none.
    public static func read(_ store: any ObjectStore) async throws -> (
        record: LeaseRecord, etag: String, storeTimeMilliseconds: Int64
    )? {
        guard let object = try await store.fetch(key) else { return nil }
        do {
            return (try LeaseRecord(decoding: object.bytes), object.etag, object.storeTimeMilliseconds)
        } catch let error as BatonError {
            throw BatonError(error.code, "\(store.displayURL)/\(key): \(error.message)")
        }
    }

    /// What an attempt to take the lease found.
    public enum Attempt: Sendable {
        /// We hold it now, with this epoch.
        case acquired(UInt64)
        /// Someone else holds it until this store time.
        case held(LeaseRecord)
        /// It expired, but it names another node as the in-sync standby:
        /// only that node (or the old holder) may take it.
        case reserved(LeaseRecord)
    }

    /// One attempt: take the lease if it is absent or expired (epoch one more
    /// than both the old record's and `minimumEpoch`). With
    /// `honoringSyncStandby`, an expired record naming another node as the
    /// in-sync standby is left to that node, or to its old holder when
    /// `oldHolderKnowsItsPosition` (a holder that restarted after a crash
    /// cannot prove where its copy is, and its promotion would fall back to
    /// the store, which may lack what the in-sync standby confirmed). The
    /// record it writes then names the same in-sync standby until
    /// `dropInheritedSyncStandby`.
    public func tryAcquire(
        minimumEpoch: UInt64 = 0, honoringSyncStandby: Bool = false, oldHolderKnowsItsPosition: Bool = true
    ) async throws -> Attempt {
        let sentAt = clock.now()
        let current = try await LeaseClient.read(store)
        // The store's clock when it answered the read (or now, when nothing was there).
        let now: Int64
        if let current { now = current.storeTimeMilliseconds } else { now = try await store.storeTimeMilliseconds() }
        if let current, !current.record.isExpired(atStoreTime: now) { return .held(current.record) }
        if honoringSyncStandby, let record = current?.record, let named = record.syncStandby, named != holder,
            record.holder != holder || !oldHolderKnowsItsPosition
        {
            return .reserved(record)
        }
        let epoch = max(current?.record.epoch ?? 0, minimumEpoch) + 1
        // Until this node serves, the record goes on naming the in-sync standby the expired one
        // named (this node or another): if this takeover fails, only that standby or this node
        // may take the lease next, never a node without the writes that standby confirmed.
        let inherited = honoringSyncStandby ? current?.record.syncStandby : nil
        let record = LeaseRecord(
            holder: holder, address: address, epoch: epoch,
            expiresAtMilliseconds: now + timing.ttlMilliseconds, syncStandby: inherited)
        do {
            let etag = try await store.put(
                LeaseClient.key, data: record.encoded(), condition: current.map { .ifMatch($0.etag) } ?? .ifNoneMatch)
            withMachine { $0.acquired(epoch: epoch, etag: etag, sentAt: sentAt) }
            // A new term has no standby in sync of its own yet.
            syncStandbyState.withLock {
                $0 = SyncStandbyState(wanted: inherited, recorded: inherited, inherited: inherited)
            }
            changes.signal()
            return .acquired(epoch)
        } catch let error as BatonError where error.code == .preconditionFailed {
            if let winner = try await LeaseClient.read(store) { return .held(winner.record) }
            throw error
        }
    }

    /// Tries until `waitMilliseconds` have passed, with exponential backoff
    /// and jitter; throws `busy` naming the holder when it gives up.
    public func acquire(waitMilliseconds: Int64, minimumEpoch: UInt64 = 0) async throws -> UInt64 {
        let started = clock.now()
        var delay: Int64 = 100
        while true {
            switch try await tryAcquire(minimumEpoch: minimumEpoch) {
            case .acquired(let epoch):
                return epoch
            case .held(let record), .reserved(let record):
                let waited = clock.now() - started
                guard waited < waitMilliseconds else {
                    throw BatonError(
                        .busy,
                        "\(store.displayURL): the lease is held by \(record.holder) (epoch \(record.epoch)) "
                            + "until \(LeaseRecord.format(record.expiresAtMilliseconds))")
                }
                let sleep = min(Int64.random(in: delay / 2...delay), waitMilliseconds - waited)
                try await clock.sleep(milliseconds: max(sleep, 1))
                delay = min(delay * 2, 5000)
            }
        }
    }

    /// When (on the clock) writes must stop unless a renewal succeeds; nil when not holding.
    public var deadlineMilliseconds: Int64? {
        withMachine { machine in
            guard case .holding(_, _, let deadline, _) = machine.state else { return nil }
            return deadline
        }
    }

    /// Milliseconds until `deadlineMilliseconds` (0 once passed); nil when not holding.
    public var timeLeftMilliseconds: Int64? {
        withMachine { machine in
            guard case .holding(_, _, let deadline, _) = machine.state else { return nil }
            return max(0, deadline - clock.now())
        }
    }

    /// When the next renewal is due on the clock (the last one sent plus a
    /// third of the TTL); nil when not holding.
    public var nextRenewalMilliseconds: Int64? {
        withMachine { machine in
            guard case .holding(_, _, _, let lastRenewSent) = machine.state else { return nil }
            return lastRenewSent + timing.renewEveryMilliseconds
        }
    }

    /// Whether writes are allowed now.
    public var mayWrite: Bool { withMachine { $0.mayWrite(at: clock.now()) } }

    /// The in-sync standby the store's record names, as far as this holder
    /// wrote it (changes only when a conditional write succeeded).
    public var recordedSyncStandby: String? { syncStandbyState.withLock { $0.recorded } }

    /// The in-sync standby last asked for (written or about to be).
    public var wantedSyncStandby: String? { syncStandbyState.withLock { $0.wanted } }

    /// Asks for the record to name `standby` as in sync (nil: none); the
    /// renewing task writes it at once. Ends an inherited name's term. Watch `recordedSyncStandby`.
    /// Returns whether this call changed what is asked for (of several
    /// callers asking for the same change, exactly one gets true).
    @discardableResult
    public func requestSyncStandby(_ standby: String?) -> Bool {
        let changed = syncStandbyState.withLock { state -> Bool in
            defer {
                state.wanted = standby
                // This term's own choice from now on.
                state.inherited = nil
            }
            return state.wanted != standby
        }
        if changed { changes.signal() }
        return changed
    }

    /// The takeover is complete (the store holds everything this holder
    /// has): the record stops naming the standby inherited from the expired
    /// one, unless another was asked for since. Returns what it named.
    @discardableResult
    public func dropInheritedSyncStandby() -> String? {
        let dropped = syncStandbyState.withLock { state -> String? in
            defer { state.inherited = nil }
            guard let inherited = state.inherited, state.wanted == inherited else { return nil }
            state.wanted = nil
            return inherited
        }
        if dropped != nil { changes.signal() }
        return dropped
    }

    /// Renews if due (or at once when the in-sync standby must change);
    /// returns false once writes must stop (lost or expired).
    @discardableResult
    public func maintain() async -> Bool {
        let (wanted, changing) = syncStandbyState.withLock { ($0.wanted, $0.wanted != $0.recorded) }
        let now = clock.now()
        switch withMachine({ changing ? $0.renewNow(now: now) : $0.tick(now: now) }) {
        case .none:
            return mayWrite
        case .stopWrites:
            return false
        case .renew(let epoch, let etag):
            let sentAt = clock.now()
            do {
                let now = try await store.storeTimeMilliseconds()
                let record = LeaseRecord(
                    holder: holder, address: address, epoch: epoch,
                    expiresAtMilliseconds: now + timing.ttlMilliseconds, syncStandby: wanted)
                let newTag = try await store.put(LeaseClient.key, data: record.encoded(), condition: .ifMatch(etag))
                _ = withMachine { $0.renewed(etag: newTag, sentAt: sentAt) }
                syncStandbyState.withLock { $0.recorded = wanted }
            } catch let error as BatonError where error.code == .preconditionFailed {
                _ = withMachine { $0.preconditionFailed() }
                changes.signal()
            } catch {
                _ = withMachine { $0.renewFailed(now: clock.now()) }
            }
            return mayWrite
        }
    }

    /// Gives the lease back without waiting for its TTL: writes an expired
    /// record (keeping the epoch, so epochs never repeat), only if still ours.
    public func release() async {
        let held: (UInt64, String)? = withMachine { machine in
            guard case .holding(let epoch, let etag, _, _) = machine.state else { return nil }
            // Past the deadline there is nothing of ours left to give back.
            let stillOurs = machine.mayWrite(at: clock.now())
            machine.released()
            return stillOurs ? (epoch, etag) : nil
        }
        changes.signal()
        guard let (epoch, etag) = held else { return }
        let record = LeaseRecord(holder: holder, address: address, epoch: epoch, expiresAtMilliseconds: 0)
        _ = try? await store.put(LeaseClient.key, data: record.encoded(), condition: .ifMatch(etag))
    }
}
