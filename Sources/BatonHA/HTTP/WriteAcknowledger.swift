import BatonCore
import BatonReplication
import BatonSystem

/// Holds a write's response on the holder until it may leave: learns the
/// TXIDs that cover the write (every database's WAL end once the app has
/// answered: a request may have written to any of them) and, in sync mode,
/// waits until the in-sync standby or the store has each of them
/// (`SyncAcknowledgement` decides). Used by the front proxy and the relay API.
struct WriteAcknowledger {
    let node: Node

    /// How a wait ended.
    enum Outcome: Equatable {
        /// The response may leave; the write is at or before `txids` (per database).
        case acknowledged(txids: [String: UInt64])
        /// The write is committed on the holder but not confirmed anywhere else.
        case unconfirmed(txids: [String: UInt64]?, reason: String)
    }

    /// Milliseconds until the clock alone can change the decision: the
    /// standby timeout, the hold deadline, the lease's own deadline.
    private func nextDecisionMilliseconds(waited: Int64) -> Int64 {
        let config = node.config
        var due = config.holdTimeoutMilliseconds - waited
        if waited < config.standbyTimeoutMilliseconds { due = min(due, config.standbyTimeoutMilliseconds - waited) }
        if let left = node.lease.timeLeftMilliseconds { due = min(due, left) }
        return max(due, 1)
    }

    /// Waits until the write just made may be acknowledged.
    func acknowledge() async -> Outcome {
        let config = node.config
        let started = node.clock.now()
        guard let targets = await node.captureNow(timeoutMilliseconds: config.holdTimeoutMilliseconds) else {
            return .unconfirmed(txids: nil, reason: "the holder did not read its WAL in time")
        }
        guard config.replicationMode == .sync else { return .acknowledged(txids: targets) }
        while true {
            let seen = node.progress.version
            // A record naming this node keeps the baton for it while it takes over; no standby confirms for it.
            let recorded = node.lease.recordedSyncStandby
            let named = recorded == config.name ? nil : recorded
            let leaseValid = node.lease.mayWrite
            let waited = node.clock.now() - started
            var facts: [String: SyncAcknowledgement.Facts] = [:]
            for database in node.databases {
                facts[database.name] = SyncAcknowledgement.Facts(
                    target: targets[database.name] ?? 0, syncStandby: named,
                    standbyPosition: named.flatMap { database.feed.peerPositions[$0] },
                    storedTXID: database.state.withLock { $0.storedTXID }, leaseValid: leaseValid,
                    waitedMilliseconds: waited, standbyTimeoutMilliseconds: config.standbyTimeoutMilliseconds,
                    deadlineMilliseconds: config.holdTimeoutMilliseconds, policy: config.onStandbyLoss)
            }
            switch SyncAcknowledgement.decide(group: facts) {
            case .acknowledgedByStandby, .acknowledgedByStore:
                node.metrics.syncWait.record(.milliseconds(node.clock.now() - started))
                return .acknowledged(txids: targets)
            case .unconfirmed(let reason):
                node.metrics.unconfirmedWrites.increment()
                return .unconfirmed(txids: targets, reason: reason)
            case .wait:
                break
            case .waitDroppingStandby:
                // Every write waiting on the silent standby comes here; the one that asks first says so.
                if node.lease.requestSyncStandby(nil), let named {
                    node.log(
                        "standby \(named) did not confirm the write's transactions within \(DurationText.format(config.standbyTimeoutMilliseconds)); recording in the lease that no standby is in sync"
                    )
                }
            case .waitForStore:
                node.inbox.send(.flush)
            }
            // Woken by a standby's confirmation, an upload or a renewal that changed the in-sync
            // standby; otherwise at the next moment the decision depends on the clock.
            await node.progress.wait(from: seen, timeoutMilliseconds: nextDecisionMilliseconds(waited: waited))
        }
    }
}
