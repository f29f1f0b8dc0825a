import BatonCore
import BatonReplication
import BatonSystem

extension NodeDriver {
    /// Performs one step the hand-over machine asked for and reports its
    /// outcome back; returns the machine's next action. Waits (for
    /// in-flight requests, for a standby) are not done here: `handoverRound`
    /// reports what changed on each driver round.
    func performHandover(_ step: HandoverStateMachine.Action) async -> NodeStateMachine.Action {
        switch step {
        case .none:
            return .none
        case .holdTraffic(let timer):
            // Closes the gate of local requests too: from here none starts on this holder.
            update { $0.holdingTraffic = true }
            handoverTimer = timer
            return handoverRound()
        case .stopApp:
            update { $0.serving = false }
            if let app = node.app { await app.stop(graceMilliseconds: config.appStopTimeoutMilliseconds) }
            // The requests ended before this step: nothing is interrupted.
            await closeRelayConnections()
            return machine.handover(.appStopped, now: clock.now())
        case .sealDatabases:
            // From here the hand-over uploads the last files itself.
            await stopShipping()
            for database in node.databases {
                guard let replicator = replicators[database.name] else { continue }
                do {
                    try await BlockingWork.runExclusive { try replicator.sealCaptured() }
                } catch {
                    log(database, "hand-over: \(error)")
                }
            }
            let finals = Dictionary(uniqueKeysWithValues: node.databases.map { ($0.name, $0.feed.latest.txid) })
            return machine.handover(.sealed(finals), now: clock.now())
        case .awaitStandby(let timer):
            handoverTimer = timer
            return handoverRound()
        case .uploadLastFiles:
            // A holder that cannot prove its lease writes nothing more to the store.
            var succeeded = node.lease.mayWrite && !replicators.isEmpty
            for database in node.databases where succeeded {
                do {
                    try await replicators[database.name]?.finish()
                } catch {
                    log(database, "hand-over: the store did not take the last files yet: \(error)")
                    succeeded = false
                }
            }
            return machine.handover(.uploaded(succeeded: succeeded), now: clock.now())
        case .releaseLease:
            // No renewal may be in flight: one landing after the release would hold the lease again.
            await stopLeaseTasks()
            await node.lease.release()
            return machine.handover(.released, now: clock.now())
        case .offerTakeover(let chosen):
            guard let peer = config.peers.first(where: { $0.name == chosen }) else {
                preconditionFailure("the hand-over chose \(chosen), which is not a peer")
            }
            _ = try? await node.peers.send(
                .POST, peer.api + "/takeover", body: Array("{}".utf8), timeoutMilliseconds: 2000)
            await becomeCopyAfterHandover(to: peer)
            return machine.handover(.offered, now: clock.now())
        case .end(let outcome):
            handoverTimer = nil
            finishHandover(outcome)
            return machine.handoverEnded(now: clock.now())
        }
    }

    /// While handing over: serves the captures in-flight writes wait for,
    /// and reports a due timer, the end of in-flight requests and the
    /// standbys' positions.
    func handoverRound() -> NodeStateMachine.Action {
        serveCaptures()
        let now = clock.now()
        if let timer = handoverTimer, now >= timer.deadline {
            handoverTimer = nil
            let action = machine.handover(.timerFired(timer), now: now)
            if action != .none { return action }
        }
        if node.requests.count == 0 {
            let action = machine.handover(.drained, now: now)
            if action != .none { return action }
        }
        // Only positions a standby confirmed recently count: one that stopped asking
        // (shut down, crashed) must not be offered the baton on an old position.
        var table: [String: [String: UInt64]] = [:]
        for database in node.databases {
            let seen = database.feed.peerLastSeen
            for (peer, txid) in database.feed.peerPositions {
                guard let last = seen[peer], now - last < config.heartbeatTimeoutMilliseconds else { continue }
                table[peer, default: [:]][database.name] = txid
            }
        }
        return machine.handover(.standbyPositions(table), now: now)
    }

    /// How long the driver may wait before the next hand-over round: until
    /// the armed timer or the lease's own deadline (a lost lease is the one
    /// thing nobody signals), whichever comes first; everything else it
    /// waits for (the last request ending, a standby's confirmation, a
    /// capture) wakes it.
    var handoverWaitMilliseconds: Int64 {
        let now = clock.now()
        var wait: Int64 = 1000
        if let timer = handoverTimer { wait = min(wait, timer.deadline - now) }
        if let left = node.lease.timeLeftMilliseconds { wait = min(wait, left) }
        return max(wait, 5)
    }

    /// The baton is offered: stop replicating and keep each file as a standby copy.
    private func becomeCopyAfterHandover(to peer: NodeConfig.Peer) async {
        var positions: [String: (txid: UInt64, checksum: UInt64)] = [:]
        for database in node.databases {
            guard let replicator = replicators.removeValue(forKey: database.name) else { continue }
            positions[database.name] = (replicator.sealedTXID, replicator.sealedChecksum)
            replicator.close()
            database.feed.restarted(txid: 0, checksum: 0)
        }
        await adoptLocalCopies(positions, epoch: machine.epoch)
        update {
            $0.holdingTraffic = false
            $0.holder = peer.name
            $0.holderAPI = peer.api
        }
    }

    /// Logs the outcome and answers the `POST /handoff` that asked for it.
    private func finishHandover(_ outcome: HandoverStateMachine.Outcome) {
        let result: Result<Node.HandoffReport, BatonError>
        switch outcome {
        case .handedOver(let report):
            let txid = node.databases.first.flatMap { report.finalTXIDs[$0.name] } ?? 0
            let at =
                node.databases.count > 1
                ? "transactions "
                    + node.databases.map { "\($0.name) \(report.finalTXIDs[$0.name] ?? 0)" }.joined(separator: ", ")
                : "transaction \(txid)"
            log("handed the baton to \(report.to) at \(at) (traffic held \(report.heldMilliseconds) ms so far)")
            view.lastHandoffMilliseconds = report.heldMilliseconds
            result = .success(
                Node.HandoffReport(from: config.name, to: report.to, txid: txid, milliseconds: report.heldMilliseconds))
        case .failed(let reason):
            log("hand-over failed: \(reason)")
            result = .failure(BatonError(.busy, reason))
        case .leaseLost:
            log("hand-over abandoned: the lease can no longer be proven held")
            // Fencing follows; requests go to whoever holds the baton next, not held here.
            update { $0.holdingTraffic = false }
            result = .failure(BatonError(.preconditionFailed, "the lease was lost during the hand-over"))
        }
        pendingHandoff?.send(result)
        pendingHandoff = nil
    }
}
