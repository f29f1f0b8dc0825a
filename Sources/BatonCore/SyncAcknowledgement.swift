/// When the response to a write may leave the holder in sync mode. Pure:
/// the caller gathers the facts, asks, and does what the decision says.
///
/// A write's transaction is acknowledged once the standby the lease names
/// as in sync has confirmed it, or, when the lease names none, once the
/// store has it while the lease is still held (so any later holder's
/// catch-up from the store sees it). The lease stops naming a standby
/// (degrade) before the store alone may acknowledge; the caller asks for
/// that write and waits for it to be recorded.
public enum SyncAcknowledgement {
    /// What happens when the in-sync standby stops confirming.
    public enum Policy: String, Sendable, Equatable, CaseIterable {
        /// Record that no standby is in sync, then acknowledge once the store has the write.
        case degrade
        /// Hold the response until a standby confirms (up to a deadline, then fail).
        case strict
    }

    /// What the holder knows while one write waits.
    public struct Facts: Equatable, Sendable {
        /// The TXID the write's transaction is at or before.
        public var target: UInt64
        /// The standby the lease records as in sync (as last written by this holder).
        public var syncStandby: String?
        /// What that standby last confirmed.
        public var standbyPosition: UInt64?
        /// The newest TXID the store confirmed in this holder's term.
        public var storedTXID: UInt64
        /// Whether the holder can still prove it holds the lease.
        public var leaseValid: Bool
        /// How long this write has waited.
        public var waitedMilliseconds: Int64
        /// How long it may wait for the in-sync standby before the policy applies.
        public var standbyTimeoutMilliseconds: Int64
        /// How long it may wait in all.
        public var deadlineMilliseconds: Int64
        /// The policy.
        public var policy: Policy

        /// Facts for one check.
        public init(
            target: UInt64, syncStandby: String?, standbyPosition: UInt64?, storedTXID: UInt64, leaseValid: Bool,
            waitedMilliseconds: Int64, standbyTimeoutMilliseconds: Int64, deadlineMilliseconds: Int64,
            policy: Policy
        ) {
            self.target = target
            self.syncStandby = syncStandby
            self.standbyPosition = standbyPosition
            self.storedTXID = storedTXID
            self.leaseValid = leaseValid
            self.waitedMilliseconds = waitedMilliseconds
            self.standbyTimeoutMilliseconds = standbyTimeoutMilliseconds
            self.deadlineMilliseconds = deadlineMilliseconds
            self.policy = policy
        }
    }

    /// What to do now.
    public enum Decision: Equatable, Sendable {
        /// Release the response: the named standby has the transaction.
        case acknowledgedByStandby(String)
        /// Release the response: the store has the transaction.
        case acknowledgedByStore
        /// Keep waiting.
        case wait
        /// Keep waiting, and have the lease stop naming the standby (degrade).
        case waitDroppingStandby
        /// Keep waiting, and have the holder seal and upload now.
        case waitForStore
        /// Answer that the write is not confirmed.
        case unconfirmed(String)
    }

    /// The decision for `facts`.
    public static func decide(_ facts: Facts) -> Decision {
        if let named = facts.syncStandby, let position = facts.standbyPosition, position >= facts.target {
            return .acknowledgedByStandby(named)
        }
        if facts.syncStandby == nil, facts.policy == .degrade, facts.storedTXID >= facts.target, facts.leaseValid {
            return .acknowledgedByStore
        }
        if !facts.leaseValid {
            return .unconfirmed(
                "the holder lost the lease before transaction \(facts.target) was confirmed by a standby or the store")
        }
        if facts.waitedMilliseconds >= facts.deadlineMilliseconds {
            let waited = DurationText.format(facts.waitedMilliseconds)
            return .unconfirmed(
                facts.syncStandby.map { "standby \($0) did not confirm transaction \(facts.target) within \(waited)" }
                    ?? "no standby is in sync and none confirmed transaction \(facts.target) within \(waited)")
        }
        guard facts.policy == .degrade else { return .wait }
        if facts.syncStandby == nil { return .waitForStore }
        return facts.waitedMilliseconds >= facts.standbyTimeoutMilliseconds ? .waitDroppingStandby : .wait
    }
}
