import BatonCore
import BatonNode

extension NodeDriver {
    /// Starts (or restarts) pulling the holder's stream into the standby copy.
    func startFollowing(holder: String, epoch: UInt64) {
        follower?.cancel()
        let address = node.shared.withLock { $0.holderAPI } ?? config.peers.first { $0.name == holder }?.api
        guard let address else {
            log("the baton is held by \(holder), whose API address is unknown (not in the lease or in peers)")
            return
        }
        if standby == nil {
            adoptLocalCopy(position: nil, epoch: epoch)
        }
        guard let standby else { return }
        log("following \(holder) at \(address) (epoch \(epoch))")
        let follower = StandbyFollower(node: node, copy: UncheckedBox(standby), holderAPI: address)
        self.follower = Task.detached { await follower.run() }
    }

    /// Stops the stream and waits until the copy is no longer being written.
    func stopFollowing() async {
        guard let follower else { return }
        follower.cancel()
        await follower.value
        self.follower = nil
        node.copyGate.withLock { $0 = false }
    }
}

/// Hands a non-Sendable object to exactly one other task at a time (the
/// driver gives the standby copy to the follower and takes it back only
/// after the follower task has ended).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
