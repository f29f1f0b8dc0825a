import BatonCore
import BatonNode

/// Holds a write's response on the holder until it may leave: learns the
/// TXID that covers the write (the WAL end once the app has answered) and,
/// in sync mode, waits until the in-sync standby or the store has it
/// (`SyncAcknowledgement` decides). Used by the front proxy and the relay API.
struct WriteAcknowledger {
    let node: Node

    /// How a wait ended.
    enum Outcome: Equatable {
        /// The response may leave; the write is at or before `txid`.
        case acknowledged(txid: UInt64)
        /// The write is committed on the holder but not confirmed anywhere else.
        case unconfirmed(txid: UInt64?, reason: String)
    }

    /// Waits until the write just made may be acknowledged.
    func acknowledge() async -> Outcome {
        let config = node.config
        let started = MonotonicClock.now()
        guard let target = await node.captureNow(timeoutMilliseconds: config.holdTimeoutMilliseconds) else {
            return .unconfirmed(txid: nil, reason: "the holder did not read its WAL in time")
        }
        guard config.replicationMode == .sync else { return .acknowledged(txid: target) }
        var droppedStandby = false
        while true {
            let seen = node.progress.version
            let named = node.lease.recordedSyncStandby
            let facts = SyncAcknowledgement.Facts(
                target: target, syncStandby: named, standbyPosition: named.flatMap { node.feed.peerPositions[$0] },
                storedTXID: node.shared.withLock { $0.storedTXID }, leaseValid: node.lease.mayWrite,
                waitedMilliseconds: MonotonicClock.now() - started,
                standbyTimeoutMilliseconds: config.standbyTimeoutMilliseconds,
                deadlineMilliseconds: config.holdTimeoutMilliseconds, policy: config.onStandbyLoss)
            switch SyncAcknowledgement.decide(facts) {
            case .acknowledgedByStandby, .acknowledgedByStore:
                node.metrics.syncWait.record(.milliseconds(MonotonicClock.now() - started))
                return .acknowledged(txid: target)
            case .unconfirmed(let reason):
                node.metrics.unconfirmedWrites.increment()
                return .unconfirmed(txid: target, reason: reason)
            case .wait:
                break
            case .waitDroppingStandby:
                if !droppedStandby, let named {
                    droppedStandby = true
                    node.log(
                        "standby \(named) did not confirm transaction \(target) within \(DurationText.format(config.standbyTimeoutMilliseconds)); recording in the lease that no standby is in sync"
                    )
                }
                node.lease.requestSyncStandby(nil)
            case .waitForStore:
                node.shared.withLock { $0.flushRequested = true }
                node.driverWake.signal()
            }
            await node.progress.wait(from: seen, timeoutMilliseconds: 20)
        }
    }
}
