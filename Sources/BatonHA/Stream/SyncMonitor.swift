import BatonCore
import BatonReplication
import BatonSystem

/// Sync mode, on the holder: names a standby as in sync in the lease once
/// it keeps up with the stream of every database (it confirmed, within the
/// heartbeat timeout, for each database a TXID the holder had reached one
/// check earlier). Dropping it is the waiting writes' decision
/// (`WriteAcknowledger`), not this loop's.
struct SyncMonitor {
    let node: Node

    func run() async {
        var marks: [String: UInt64] = [:]
        while !Task.isCancelled {
            check(&marks)
            try? await node.clock.sleep(milliseconds: 100)
        }
    }

    /// `marks`: each database's newest TXID at the previous check.
    private func check(_ marks: inout [String: UInt64]) {
        let now = node.clock.now()
        let databases = node.databases
        defer { marks = Dictionary(uniqueKeysWithValues: databases.map { ($0.name, $0.feed.latest.txid) }) }
        guard !marks.isEmpty, node.lease.mayWrite, node.lease.recordedSyncStandby == nil,
            node.lease.wantedSyncStandby == nil
        else { return }
        for peer in node.config.peers {
            let keepsUp = databases.allSatisfy { database in
                guard let mark = marks[database.name], let position = database.feed.peerPositions[peer.name],
                    let last = database.feed.peerLastSeen[peer.name]
                else { return false }
                return position >= mark && now - last < node.config.heartbeatTimeoutMilliseconds
            }
            guard keepsUp else { continue }
            let at = databases.map { "\($0.feed.peerPositions[peer.name] ?? 0)" }.joined(separator: ", ")
            node.log("standby \(peer.name) keeps up (transaction \(at)); naming it in sync in the lease")
            node.lease.requestSyncStandby(peer.name)
            return
        }
    }
}
