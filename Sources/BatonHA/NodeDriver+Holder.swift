import AsyncHTTPClient
import BatonCore
import BatonNode
import BatonSQLite
import BatonStore
import BatonSystem

extension NodeDriver {
    /// Renews the lease in its own task, and a watchdog that kills the app
    /// the moment the lease can no longer be proven held, whatever the
    /// driver is busy with (a slow upload must not delay fencing).
    func startLeaseTasks() {
        for task in leaseTasks { task.cancel() }
        let node = self.node
        let renew = Task.detached {
            while !Task.isCancelled {
                _ = await node.lease.maintain()
                try? await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        let watchdog = Task.detached {
            while !Task.isCancelled {
                if !node.lease.mayWrite {
                    node.shared.withLock { $0.serving = false }
                    if let app = node.app, app.isRunning {
                        node.log("the lease deadline passed; killing the app")
                        await app.kill()
                    }
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        leaseTasks = [renew, watchdog]
        if config.replicationMode == .sync { leaseTasks.append(Task.detached { await SyncMonitor(node: node).run() }) }
    }

    func stopLeaseTasks() {
        for task in leaseTasks { task.cancel() }
        leaseTasks = []
    }

    /// Starts the app (if configured) and waits for its ready URL.
    func startApp(epoch: UInt64) async throws {
        guard let app = node.app else { return }
        try app.start(extra: [
            "BATON_DB": databasePath, "BATON_EPOCH": String(epoch), "BATON_NODE": config.name,
        ])
        lastAppStart = MonotonicClock.now()
        guard let ready = config.appReadyURL else { return }
        let deadline = MonotonicClock.now() + config.appStartTimeoutMilliseconds
        while MonotonicClock.now() < deadline {
            guard app.isRunning else {
                throw BatonError(.io, "the app exited during start (status \(app.lastExit ?? -1))")
            }
            if let reply = try? await node.peers.send(.GET, ready, timeoutMilliseconds: 1000),
                (200..<300).contains(reply.status)
            {
                return
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        await app.stop(graceMilliseconds: config.appStopTimeoutMilliseconds)
        throw BatonError(
            .io, "the app was not ready at \(ready) within \(DurationText.format(config.appStartTimeoutMilliseconds))")
    }

    /// One holder round: capture at once when a write waits for its TXID;
    /// replicate every 20 ms (at once when a write waits for the store);
    /// restart the app if it died.
    func holderRound() async {
        guard let replicator else { return }
        let (ticket, flush) = node.shared.withLock { state in
            defer { state.flushRequested = false }
            return (state.captureRequested, state.flushRequested)
        }
        serveCaptures(ticket: ticket)
        if flush || MonotonicClock.now() - lastStep >= 20 {
            lastStep = MonotonicClock.now()
            do {
                try replicator.stepLocally(flushAll: flush)
            } catch {
                log("replication: \(error)")
            }
            if flush { node.shipperWake.signal() }
        }
        if let app = node.app, !app.isRunning, node.lease.mayWrite,
            MonotonicClock.now() - lastAppStart > 1000
        {
            log("the app exited (status \(app.lastExit ?? -1)); starting it again")
            node.shared.withLock { $0.serving = false }
            do {
                try await startApp(epoch: machine.epoch)
                node.shared.withLock { $0.serving = true }
            } catch {
                log("\(error)")
            }
        }
    }

    /// Reads the WAL to its end for the writes waiting to learn their TXID
    /// (`Node.captureNow`); also called while a hand-over drains them.
    func serveCaptures(ticket: UInt64? = nil) {
        guard let replicator else { return }
        let ticket = ticket ?? node.shared.withLock { $0.captureRequested }
        guard ticket > node.shared.withLock({ $0.captureCompleted }) else { return }
        do {
            try replicator.capture()
            node.shared.withLock { $0.captureCompleted = ticket }
            node.progress.signal()
        } catch {
            // Waiters are not told a TXID that may miss their commit; they time out instead.
            log("replication: \(error)")
        }
    }

    /// Ships sealed files to the store in a task of its own, so a slow or
    /// failing store never delays capture, the standby's stream or a write
    /// waiting for its TXID. Publishes what the store confirmed.
    func startShipping() {
        guard let shipper = replicator?.shipper else { return }
        let node = self.node
        shipping = Task.detached {
            var failing = false
            while !Task.isCancelled {
                let seen = node.shipperWake.version
                // A holder that cannot prove its lease writes nothing more to the store.
                if node.lease.mayWrite {
                    do {
                        try await shipper.ship()
                        if failing { node.log("the store accepts uploads again") }
                        failing = false
                    } catch {
                        if !failing { node.log("store: \(error); retrying") }
                        failing = true
                    }
                    let stored = shipper.storedTXID
                    let advanced = node.shared.withLock { state -> Bool in
                        defer { state.storedTXID = max(state.storedTXID, stored) }
                        return stored > state.storedTXID
                    }
                    if advanced { node.progress.signal() }
                }
                await node.shipperWake.wait(from: seen, timeoutMilliseconds: failing ? 500 : 50)
            }
        }
    }

    /// Stops the shipping task and waits until no upload is in flight.
    func stopShipping() async {
        guard let shipping else { return }
        shipping.cancel()
        await shipping.value
        self.shipping = nil
    }

    /// Stops being holder. Fencing (`handedOver == false`): kill the app,
    /// seal what it wrote locally without uploading, and move those files
    /// aside. Then fold the WAL and adopt the file as a standby copy.
    func stepDown(epoch: UInt64, handedOver: Bool) async {
        node.shared.withLock { $0.serving = false }
        if let app = node.app { await app.kill() }
        stopLeaseTasks()
        await stopShipping()
        var position: (UInt64, UInt64)?
        if let replicator {
            do {
                if !handedOver { try replicator.sealCaptured() }
                position = (replicator.sealedTXID, replicator.sealedChecksum)
                let unconfirmed = try replicator.pendingFiles()
                if !handedOver, !unconfirmed.isEmpty {
                    let aside = "\(stateDirectory)/unconfirmed-epoch-\(epoch)-\(MonotonicClock.now())"
                    try FileSystem.rename(replicator.pendingDirectory, to: aside)
                    log("\(unconfirmed.count) sealed files the store never confirmed are kept in \(aside)")
                }
            } catch {
                log("stepping down: \(error)")
            }
            replicator.close()
            self.replicator = nil
        }
        node.feed.restarted(txid: 0, checksum: 0)
        adoptLocalCopy(position: position, epoch: epoch)
        // Whoever holds the baton now, it is not us; the proxy holds requests until the holder is known.
        node.shared.withLock { $0.holder = nil }
        log("stepped down from epoch \(epoch)")
    }

    /// Makes the database file this node's standby copy at `position` when it matches, else of unknown position.
    func adoptLocalCopy(position: (txid: UInt64, checksum: UInt64)?, epoch: UInt64) {
        do {
            try LocalDatabase.foldWAL(databasePath)
            let copy = try StandbyDatabase(path: databasePath, directory: stateDirectory + "/standby", log: node.log)
            if let position, FileSystem.exists(databasePath) {
                do {
                    try copy.adopt(txid: position.txid, checksum: position.checksum, epoch: epoch)
                } catch {
                    log("\(error); the local copy's position is unknown")
                    copy.forget()
                }
            }
            standby = copy
        } catch {
            log("cannot open the local copy: \(error)")
            standby = nil
        }
    }

    /// A hand-over could not finish: serve again.
    func resumeHolding() async {
        startShipping()
        do {
            try await startApp(epoch: machine.epoch)
            node.shared.withLock { $0.serving = true }
        } catch {
            log("could not restart the app after a failed hand-over: \(error)")
        }
        node.shared.withLock { $0.holdingTraffic = false }
    }
}
