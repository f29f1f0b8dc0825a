import BatonCore
import BatonReplication
import BatonSystem

extension NodeDriver {
    /// Starts (or restarts) pulling the holder's stream of every database into its standby copy.
    func startFollowing(holder: String, epoch: UInt64) async {
        // The copies stay readable: a restart of the stream does not change them.
        for worker in node.workers.followers.values { await worker.end() }
        let address = view.holderAPI ?? config.peers.first { $0.name == holder }?.api
        guard let address else {
            log("the baton is held by \(holder), whose API address is unknown (not in the lease or in peers)")
            return
        }
        log("following \(holder) at \(address) (epoch \(epoch))")
        for database in node.databases {
            if standbys[database.name] == nil {
                adoptLocalCopy(database, position: nil, epoch: epoch)
            }
            guard let copy = standbys[database.name], let worker = node.workers.followers[database.name] else {
                continue
            }
            let follower = StandbyFollower(
                node: node, database: database, copy: UncheckedBox(copy), holderAPI: address,
                log: logger(for: database))
            await worker.begin { await follower.run() }
        }
    }

    /// Stops every stream and waits until no copy is being written.
    func stopFollowing() async {
        for worker in node.workers.followers.values { await worker.end() }
        for database in node.databases { database.copyGate.withLock { $0 = false } }
    }
}
