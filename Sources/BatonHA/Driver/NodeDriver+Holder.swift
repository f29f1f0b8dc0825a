import AsyncHTTPClient
import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation

extension NodeDriver {
    /// Renews the lease and watches its deadline (`LeaseKeeper`): the app
    /// is killed the moment the lease can no longer be proven held,
    /// whatever the driver is busy with (a slow upload must not delay fencing).
    /// In sync mode the sync monitor runs beside it.
    func startLeaseTasks() async {
        let node = self.node
        // The proxy and /primary stop at the deadline themselves (they check the lease).
        let keeper = LeaseKeeper(client: node.lease, onSyncStandbyRecorded: { node.progress.signal() }) {
            if let app = node.app, app.isRunning {
                node.log("the lease deadline passed; killing the app")
                await app.kill()
            }
        }
        await node.workers.lease.begin { await keeper.keep() }
        if config.replicationMode == .sync {
            await node.workers.syncMonitor.begin { await SyncMonitor(node: node).run() }
        }
    }

    /// Stops renewing (and the sync monitor); returns once no renewal is in flight.
    func stopLeaseTasks() async {
        await node.workers.syncMonitor.end()
        await node.workers.lease.end()
    }

    /// The environment the app gets: `BATON_DB` (the first database),
    /// `BATON_DB_<NAME>` for each database of the group (upper case, other
    /// characters as `_`), `BATON_DATABASES` (the names), the epoch and the node.
    func appEnvironment(epoch: UInt64) -> [String: String] {
        var environment = [
            "BATON_DB": node.databases.first?.path ?? "", "BATON_EPOCH": String(epoch), "BATON_NODE": config.name,
            "BATON_DATABASES": node.databases.map(\.name).joined(separator: ","),
        ]
        for database in node.databases {
            environment[DatabaseGroup.environmentVariable(for: database.name)] = database.path
        }
        return environment
    }

    /// Starts the app (if configured) and waits for its ready URL.
    func startApp(epoch: UInt64) async throws {
        guard let app = node.app else { return }
        try app.start(extra: appEnvironment(epoch: epoch))
        lastAppStart = clock.now()
        guard let ready = config.appReadyURL else { return }
        let deadline = clock.now() + config.appStartTimeoutMilliseconds
        while clock.now() < deadline {
            guard app.isRunning else {
                throw BatonError(.io, "the app exited during start (status \(app.lastExit ?? -1))")
            }
            if let reply = try? await node.peers.send(.GET, ready, timeoutMilliseconds: 1000),
                (200..<300).contains(reply.status)
            {
                return
            }
            // The app signals nothing when it is ready: asking again is the only way.
            try await clock.sleep(milliseconds: 50)
        }
        await app.stop(graceMilliseconds: config.appStopTimeoutMilliseconds)
        throw BatonError(
            .io, "the app was not ready at \(ready) within \(DurationText.format(config.appStartTimeoutMilliseconds))")
    }

    /// One holder round: capture at once when a write waits for its TXID;
    /// step each database whose WAL changed, whose timed work fell due, or
    /// for which a checkpoint waits (all of them at once when a write waits
    /// for the store: `stepDue`); restart the app if it died.
    func holderRound() async {
        guard !replicators.isEmpty else { return }
        let ticket = node.captureRequested
        let flush = flushRequested
        flushRequested = false
        var due: [(NodeDatabase, Replicator)] = []
        for database in node.databases {
            guard let replicator = replicators[database.name] else { continue }
            // Read before the step: a change made during it is stepped next round.
            let changes = database.walChanges.version
            guard flush || stepDue(database, replicator, changes: changes) else { continue }
            walSeen[database.name] = changes
            lastStep[database.name] = clock.now()
            due.append((database, replicator))
        }
        // Reading the commits a write waits for is a read of the WAL's tail (in the page cache)
        // and answers that write: done here, at once (a thread hop would add to every answer).
        serveCaptures(ticket: ticket)
        // The steps seal, fsync and checkpoint: on a blocking-work thread.
        let (sealed, outcomes): (Bool, [(NodeDatabase, String?)]) =
            due.isEmpty
            ? (false, [])
            : (try? await BlockingWork.runExclusive {
                var sealed = false
                var outcomes: [(NodeDatabase, String?)] = []
                for (database, replicator) in due {
                    let before = replicator.sealedTXID
                    do {
                        try replicator.stepLocally(flushAll: flush)
                        outcomes.append((database, nil))
                    } catch {
                        outcomes.append((database, "\(error)"))
                    }
                    sealed = sealed || replicator.sealedTXID != before
                }
                return (sealed, outcomes)
            }) ?? (false, [])
        for (database, failure) in outcomes { reportReplication(database, failure: failure) }
        // The shippers upload what was just sealed (they wait for this, not on a timer).
        if flush || sealed { node.shipperWake.signal() }
        if let app = node.app, !app.isRunning, node.lease.mayWrite,
            clock.now() - lastAppStart > 1000
        {
            log("the app exited (status \(app.lastExit ?? -1)); starting it again")
            update { $0.serving = false }
            do {
                try await startApp(epoch: machine.epoch)
                update { $0.serving = true }
            } catch {
                log("\(error)")
            }
        }
    }

    /// Logs a capture or seal failure of `database` (nil: it worked) without
    /// repeating an unchanged one more than once per 10 s, and its end once.
    func reportReplication(_ database: NodeDatabase, failure: String?) {
        var filter = replicationErrors[database.name] ?? RepeatingErrorFilter()
        defer { replicationErrors[database.name] = filter }
        if let failure {
            if let line = filter.failed(failure, now: clock.now()) { log(database, "replication: \(line)") }
        } else if filter.succeeded() {
            log(database, "replication works again")
        }
    }

    /// Reads every database's WAL to its end for the writes waiting to
    /// learn their TXIDs (`Node.captureNow`); also called while a hand-over
    /// drains them.
    func serveCaptures(ticket: UInt64? = nil) {
        guard !replicators.isEmpty else { return }
        let ticket = ticket ?? node.captureRequested
        guard !node.captureServed(ticket) else { return }
        for database in node.databases {
            do {
                try replicators[database.name]?.capture()
            } catch {
                // Waiters are not told TXIDs that may miss their commit; they time out instead.
                reportReplication(database, failure: "\(error)")
                return
            }
        }
        node.captureCompleted(ticket)
    }

    /// Ships each database's sealed files to the store in a task of its
    /// own (its `NodeWorker`), so a slow or failing store never delays
    /// capture, the standby's stream or a write waiting for its TXID.
    /// Publishes what the store confirmed.
    func startShipping() async {
        let node = self.node
        for database in node.databases {
            guard let shipper = replicators[database.name]?.shipper,
                let worker = node.workers.shippers[database.name]
            else { continue }
            let log = logger(for: database)
            let store = database.store
            await worker.begin {
                await withDiscardingTaskGroup { group in
                    // The headers of the files the previous holder wrote since this node last read them (a
                    // rebuild after a crash here would otherwise read them all, one request each), beside the uploads.
                    group.addTask { _ = try? await ReplicaCatalog.newest(in: store, width: 4) }
                    await Self.ship(database, shipper, node: node, log: log)
                    group.cancelAll()
                }
            }
            if let mirror = database.mirror, let worker = node.workers.mirrors[database.name] {
                await worker.begin {
                    await mirror.keepCopying(
                        mayWrite: { node.lease.mayWrite }, sleep: { try await node.clock.sleep(milliseconds: $0) },
                        now: { node.clock.now() })
                }
            }
        }
    }

    /// Uploads what is sealed whenever woken, until cancelled, and publishes what the store confirmed.
    private static func ship(
        _ database: NodeDatabase, _ shipper: ReplicaShipper, node: Node, log: @escaping @Sendable (String) -> Void
    ) async {
        var failing = false
        while !Task.isCancelled {
            let seen = node.shipperWake.version
            // A holder that cannot prove its lease writes nothing more to the store.
            if node.lease.mayWrite {
                do {
                    try await shipper.ship()
                    if failing { log("the store accepts uploads again") }
                    failing = false
                } catch {
                    // Cancelled: the holder is stepping down (its worker ends), not a store failure.
                    if Task.isCancelled { break }
                    if !failing { log("store: \(error); retrying") }
                    failing = true
                }
                let stored = shipper.storedTXID
                let advanced = database.state.withLock { state -> Bool in
                    guard stored > state.storedTXID else { return false }
                    state.storedTXID = stored
                    state.storedMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
                    return true
                }
                if advanced { node.progress.signal() }
            }
            // Woken when files are sealed or a write waits for the store; the timeout retries a
            // failing store and lets compaction that fell due run when nothing new is sealed.
            await node.shipperWake.wait(from: seen, timeoutMilliseconds: failing ? 500 : 1000)
        }
    }

    /// Stops every shipper (and second-store copier) and waits until no upload is in flight.
    func stopShipping() async {
        for worker in node.workers.shippers.values { await worker.end() }
        for worker in node.workers.mirrors.values { await worker.end() }
    }

    /// Stops being holder (fencing): runs a `StepDownStateMachine` to its
    /// end. Afterwards every database is a standby copy and nothing more is
    /// written under `epoch`.
    func stepDown(epoch: UInt64) async {
        var machine = StepDownStateMachine(databases: node.databases.map(\.name))
        var positions: [String: (UInt64, UInt64)] = [:]
        var action = machine.start()
        while true {
            switch action {
            case .none:
                preconditionFailure("the step-down machine stopped before its end")
            case .killApp:
                update { $0.serving = false }
                if let app = node.app { await app.kill() }
                await closeRelayConnections()
                action = machine.handle(.appKilled)
            case .stopShipping:
                await stopLeaseTasks()
                await stopShipping()
                action = machine.handle(.shippingStopped)
            case .seal(let name):
                let database = member(name)
                var unconfirmed = 0
                // A replicator whose start failed has captured nothing: there is nothing to seal.
                if let replicator = replicators[name], replicator.isStarted {
                    do {
                        try await BlockingWork.runExclusive { try replicator.sealCaptured() }
                        positions[name] = (replicator.sealedTXID, replicator.sealedChecksum)
                        unconfirmed = try replicator.pendingFiles().count
                    } catch {
                        log(database, "stepping down: \(error)")
                        positions[name] = nil
                        unconfirmed = (try? replicator.pendingFiles().count) ?? 0
                    }
                }
                action = machine.handle(
                    .sealed(database: name, positionKnown: positions[name] != nil, unconfirmedFiles: unconfirmed))
            case .keepUnconfirmedAside(let name):
                let database = member(name)
                if let replicator = replicators[name] {
                    let aside = "\(database.stateDirectory)/unconfirmed-epoch-\(epoch)-\(clock.now())"
                    do {
                        let keep = config.divergedCopiesKept
                        let (count, removed, failures) = try LocalDatabase.setAsideUnconfirmed(
                            replicator.pendingDirectory, to: aside, keep: keep)
                        log(database, "\(count) sealed files the store never confirmed are kept in \(aside)")
                        for old in removed { log(database, "removed \(old) (diverged.keep: \(keep ?? 0))") }
                        for failure in failures { log(database, "diverged.keep: \(failure)") }
                    } catch {
                        // A rename within one folder failing means the disk is in trouble; an
                        // operator must move them before this node holds the baton again.
                        log(
                            database,
                            "cannot keep the unconfirmed files in \(replicator.pendingDirectory) aside (\(error)); move them away before this node holds the baton again"
                        )
                    }
                }
                action = machine.handle(.keptAside(database: name))
            case .adoptCopy(let name, let positionKnown):
                let database = member(name)
                replicators.removeValue(forKey: name)?.close()
                database.feed.restarted(txid: 0, checksum: 0)
                adoptLocalCopy(database, position: positionKnown ? positions[name] : nil, epoch: epoch)
                action = machine.handle(.adopted(database: name))
            case .end:
                // Whoever holds the baton now, it is not us; the proxy holds requests until the holder is known.
                update { $0.holder = nil }
                log("stepped down from epoch \(epoch)")
                return
            }
        }
    }

    /// Closes the relay's connections before the files become standby
    /// copies (running statements are interrupted; none commits past the
    /// lease's deadline anyway).
    func closeRelayConnections() async {
        let left = await node.relayConnections.close()
        if left > 0 { log("\(left) relay requests were still running after they were interrupted") }
    }

    /// The group member a machine names (machines only name the configured ones).
    func member(_ name: String) -> NodeDatabase {
        guard let database = node.database(named: name) else {
            preconditionFailure("a machine named \(name), which is not a database of the group")
        }
        return database
    }

    /// Makes the database file the standby copy of `database` at `position` when it matches, else of unknown position.
    func adoptLocalCopy(_ database: NodeDatabase, position: (txid: UInt64, checksum: UInt64)?, epoch: UInt64) {
        standbys[database.name] =
            NodeDriver.localCopy(
                database, position: position, epoch: epoch, log: logger(for: database))?.value
    }

    /// Adopts the files of the databases in `positions` as standby copies
    /// at once (each is mostly waiting for its own fsyncs), on
    /// `BlockingWork`'s threads.
    func adoptLocalCopies(_ positions: [String: (txid: UInt64, checksum: UInt64)], epoch: UInt64) async {
        let databases = node.databases.filter { positions[$0.name] != nil }
        let copies = await withTaskGroup(of: (String, UncheckedBox<StandbyDatabase>?).self) { group in
            for database in databases {
                let position = positions[database.name]
                let log = logger(for: database)
                group.addTask {
                    let copy = try? await BlockingWork.run {
                        NodeDriver.localCopy(database, position: position, epoch: epoch, log: log)
                    }
                    return (database.name, copy ?? nil)
                }
            }
            var copies: [String: UncheckedBox<StandbyDatabase>?] = [:]
            for await (name, copy) in group { copies[name] = copy }
            return copies
        }
        for database in databases { standbys[database.name] = copies[database.name]??.value }
    }

    /// The file of `database` as a standby copy at `position` when it
    /// matches, else of unknown position; nil (logged) when it cannot be opened.
    static func localCopy(
        _ database: NodeDatabase, position: (txid: UInt64, checksum: UInt64)?, epoch: UInt64,
        log: @escaping @Sendable (String) -> Void
    ) -> UncheckedBox<StandbyDatabase>? {
        do {
            try LocalDatabase.foldWAL(database.path)
            let copy = try StandbyDatabase(
                path: database.path, directory: database.stateDirectory + "/standby", log: log)
            if let position, FileSystem.exists(database.path) {
                do {
                    try copy.adopt(txid: position.txid, checksum: position.checksum, epoch: epoch)
                } catch {
                    log("\(error); the local copy's position is unknown")
                    copy.forget()
                }
            }
            return UncheckedBox(copy)
        } catch {
            log("cannot open the local copy: \(error)")
            return nil
        }
    }

    /// A hand-over could not finish: serve again.
    func resumeHolding() async {
        await startShipping()
        do {
            try await startApp(epoch: machine.epoch)
            update { $0.serving = true }
        } catch {
            log("could not restart the app after a failed hand-over: \(error)")
        }
        update { $0.holdingTraffic = false }
    }
}
