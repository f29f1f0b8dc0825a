import BatonCore
import BatonNode

/// Sync mode, on the holder: names a standby as in sync in the lease once
/// it keeps up with the stream (it confirmed, within the heartbeat timeout,
/// a TXID the holder had reached one check earlier). Dropping it is the
/// waiting writes' decision (`WriteAcknowledger`), not this loop's.
struct SyncMonitor {
    let node: Node

    func run() async {
        var marks: [String: UInt64] = [:]
        while !Task.isCancelled {
            check(&marks)
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    private func check(_ marks: inout [String: UInt64]) {
        let now = MonotonicClock.now()
        let latest = node.feed.latest.txid
        let positions = node.feed.peerPositions
        let seen = node.feed.peerLastSeen
        defer { marks = Dictionary(uniqueKeysWithValues: node.config.peers.map { ($0.name, latest) }) }
        guard node.lease.mayWrite, node.lease.recordedSyncStandby == nil, node.lease.wantedSyncStandby == nil else {
            return
        }
        for peer in node.config.peers {
            guard let mark = marks[peer.name], let position = positions[peer.name], position >= mark,
                let last = seen[peer.name], now - last < node.config.heartbeatTimeoutMilliseconds
            else { continue }
            node.log("standby \(peer.name) keeps up (transaction \(position)); naming it in sync in the lease")
            node.lease.requestSyncStandby(peer.name)
            return
        }
    }
}
