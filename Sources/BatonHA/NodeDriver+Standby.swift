import BatonCore
import BatonNode
import BatonSystem

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
