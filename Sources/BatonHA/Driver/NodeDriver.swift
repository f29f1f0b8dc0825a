import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation

/// Runs a node: the one task that owns the role machine, the replicators
/// (holder) and the standby copies of every database of the group, performs
/// the machine's actions, gives the node's workers (`NodeWorkers`) the work
/// its role needs, and publishes the node's state for the API and the
/// proxy. Every deadline is read from the node's clock.
final class NodeDriver {
    let node: Node
    var machine: NodeStateMachine
    /// Holder: one per database, by name.
    var replicators: [String: Replicator] = [:]
    /// Standby: each database's copy, by name (nil while it cannot be opened).
    var standbys: [String: StandbyDatabase] = [:]
    var lastAppStart: Int64 = 0
    /// What the promotion in progress learned so far, per database.
    var promotionFacts: [String: PromotionFacts] = [:]
    /// The hand-over's armed wait (in-flight requests, a standby's confirmation).
    var handoverTimer: HandoverStateMachine.Timer?
    /// When the holder last ran a full replication step of each database.
    var lastStep: [String: Int64] = [:]
    /// Each database's `walChanges` version at its last step.
    var walSeen: [String: UInt64] = [:]
    /// Wakes the driver when a database's `-wal` changes (nil where
    /// inotify is missing: the holder then steps every database on its poll).
    var walWatcher: FileChangeWatcher?
    var shutdownSeen = false
    /// A shutdown was asked for (SIGTERM).
    var shutdownRequested = false
    /// A write waits for the store: the next holder round seals and uploads at once.
    var flushRequested = false
    /// Per database: which capture and seal errors reach the log (a full disk fails every round).
    var replicationErrors: [String: RepeatingErrorFilter] = [:]
    /// Commands drained from the inbox that ask for an action, served one per round.
    var pendingCommands: [NodeInbox.Command] = []
    /// What the driver publishes: its machine's role plus what it learned (`publish`).
    var view = NodeSnapshot()

    var config: NodeConfig { node.config }
    var clock: any BatonClock { node.clock }
    func log(_ line: String) { node.log(line) }

    /// Logs a line about one database (named when the group has several).
    func log(_ database: NodeDatabase, _ line: String) {
        node.log(node.databases.count > 1 ? "\(database.name): \(line)" : line)
    }

    /// A log function for the work on one database.
    func logger(for database: NodeDatabase) -> @Sendable (String) -> Void {
        let node = self.node
        let prefix = node.databases.count > 1 ? "\(database.name): " : ""
        return { node.log(prefix + $0) }
    }

    init(node: Node) {
        self.node = node
        let config = node.config
        machine = NodeStateMachine(
            name: config.name, peers: config.peers.map(\.name), databases: config.databaseNames,
            timing: .init(
                heartbeatTimeoutMilliseconds: config.heartbeatTimeoutMilliseconds,
                handover: .init(
                    drainMilliseconds: config.holdTimeoutMilliseconds / 2,
                    confirmMilliseconds: config.handoffTimeoutMilliseconds)),
            now: node.clock.now())
    }

    /// Runs until shut down (`Node.requestShutdown`), handing the baton over first when holding it.
    func run() async throws {
        for database in node.databases {
            do {
                try LocalDatabase.foldWAL(database.path)
                standbys[database.name] = try StandbyDatabase(
                    path: database.path, directory: database.stateDirectory + "/standby", log: logger(for: database))
            } catch let error as BatonError where !error.message.contains(database.path) {
                throw BatonError(error.code, "\(database.path): \(error.message)")
            }
        }
        startWatchingWAL()
        publish()
        var action = machine.start(now: clock.now())
        while true {
            while action != .none {
                if action == .exit {
                    await finishRun()
                    return
                }
                action = await perform(action)
                publish()
            }
            action = nextAction()
            if action == .none {
                switch machine.role {
                case .holder:
                    let seen = node.driverWake.version
                    await holderRound()
                    node.driverIdle.signal()
                    await node.driverWake.wait(from: seen, timeoutMilliseconds: NodeDriver.checkpointProbeMilliseconds)
                case .handingOver:
                    let seen = node.driverWake.version
                    action = handoverRound()
                    if action == .none {
                        node.driverIdle.signal()
                        await node.driverWake.wait(from: seen, timeoutMilliseconds: handoverWaitMilliseconds)
                    }
                default:
                    // Nothing to do until the machine's next deadline, a command or a request.
                    let seen = node.driverWake.version
                    let now = clock.now()
                    let due = machine.nextTick(now: now).map { $0 - now } ?? 1000
                    node.driverIdle.signal()
                    await node.driverWake.wait(from: seen, timeoutMilliseconds: min(max(due, 1), 1000))
                }
            }
        }
    }

    /// Looks at signals, commands, the lease and the clock, in that order.
    private func nextAction() -> NodeStateMachine.Action {
        let now = clock.now()
        for command in node.inbox.drain() {
            switch command {
            case .shutdown: shutdownRequested = true
            case .flush: flushRequested = true
            case .epochSeen(let epoch): view.epoch = max(view.epoch, epoch)
            case .handoff, .takeover: pendingCommands.append(command)
            }
        }
        defer { if node.inbox.takeoverHandled() { node.changes.signal() } }
        // Any database's stream answering shows the holder alive (the stream is the heartbeat).
        let contact = node.databases.map { database in database.state.withLock { $0.lastContact } }.max() ?? .min
        if shutdownRequested, !shutdownSeen {
            shutdownSeen = true
            log("shutting down")
            let action = machine.shutdownRequested(now: now)
            if action != .none { return action }
        }
        while !pendingCommands.isEmpty {
            switch pendingCommands.removeFirst() {
            case .handoff(let target, let reply):
                let action = machine.handoffRequested(to: target, now: now)
                if action != .none {
                    pendingHandoff = reply
                    return action
                }
                reply.send(
                    .failure(
                        BatonError(.usage, "\(config.name) is not serving as holder (role \(machine.role.rawValue))")))
            case .takeover:
                let action = machine.takeoverOffered(now: now)
                if action != .none {
                    // About to serve: hold requests here instead of bouncing them back to the old holder.
                    update { $0.holdingTraffic = true }
                    return action
                }
            default:
                break
            }
        }
        if [.holder, .promoting, .handingOver].contains(machine.role), !node.lease.mayWrite {
            // During a hand-over that released the lease this is expected, and nothing happens.
            let action = machine.leaseLost(now: now)
            if case .fence = action { log("the lease can no longer be proven held; fencing") }
            if action != .none { return action }
        }
        if machine.role == .standby, contact != .min { machine.contact(holderEpoch: view.epoch, now: contact) }
        return machine.tick(now: now)
    }

    /// The hand-over request being served (answered when it ends).
    var pendingHandoff: Reply<Result<Node.HandoffReport, BatonError>>?

    private func perform(_ action: NodeStateMachine.Action) async -> NodeStateMachine.Action {
        switch action {
        case .none, .exit:
            return action
        case .tryAcquire:
            do {
                // Every copy's position known: this node can prove what it holds (a holder that
                // restarted after a crash cannot, until it followed a holder again).
                let positionsKnown = node.databases.allSatisfy { standbys[$0.name]?.txid != nil }
                switch try await node.lease.tryAcquire(
                    minimumEpoch: machine.epoch, honoringSyncStandby: true, oldHolderKnowsItsPosition: positionsKnown)
                {
                case .acquired(let epoch):
                    // A takeover that fails leaves the lease to the node with every acknowledged write.
                    let kept = node.lease.wantedSyncStandby.map { named in
                        "; the lease names \(named) as in sync until this node serves"
                    }
                    log("took the baton (epoch \(epoch))\(kept ?? "")")
                    await startLeaseTasks()
                    return machine.acquired(epoch: epoch, now: clock.now())
                case .reserved(let record):
                    update { $0.holdingTraffic = false }
                    if record.holder == config.name {
                        log(
                            "the lease expired and names \(record.syncStandby ?? "?") as the in-sync standby; this node held it but restarted without knowing its copy's position, so it leaves the baton to \(record.syncStandby ?? "?")"
                        )
                    } else {
                        let named = record.syncStandby ?? "?"
                        let holders = named == record.holder ? "only it" : "only it (or \(record.holder))"
                        log(
                            "the lease expired but names \(named) as the in-sync standby: \(holders) holds every acknowledged write, so this node does not take over"
                        )
                    }
                    remember(record)
                    return machine.leaseHeld(holder: record.holder, epoch: record.epoch, now: clock.now())
                case .held(let record):
                    update { $0.holdingTraffic = false }
                    remember(record)
                    return machine.leaseHeld(holder: record.holder, epoch: record.epoch, now: clock.now())
                }
            } catch {
                update { $0.holdingTraffic = false }
                log("cannot read the lease: \(error)")
                return await holderFromPeers()
            }
        case .readLease:
            do {
                guard let (record, _, storeNow) = try await LeaseClient.read(node.store) else { return .none }
                guard record.holder != config.name, !record.isExpired(atStoreTime: storeNow) else { return .none }
                remember(record)
                return machine.leaseHeld(holder: record.holder, epoch: record.epoch, now: clock.now())
            } catch {
                log("cannot read the lease: \(error)")
                return await holderFromPeers()
            }
        case .follow(let holder, let epoch):
            await startFollowing(holder: holder, epoch: epoch)
            return .none
        case .promotion(let step):
            return await performPromotion(step)
        case .fence(let epoch):
            await stepDown(epoch: epoch)
            return machine.steppedDown(now: clock.now())
        case .handover(let step):
            return await performHandover(step)
        case .resumeHolding:
            await resumeHolding()
            return .none
        }
    }

    /// The store cannot be read: a peer that says it holds a newer or equal
    /// epoch is followed (for the stream and the proxy; taking the baton still needs the store).
    private func holderFromPeers() async -> NodeStateMachine.Action {
        guard machine.role == .standby || machine.role == .starting else { return .none }
        for peer in config.peers {
            guard let reply = try? await node.peers.send(.GET, peer.api + "/status", timeoutMilliseconds: 1000),
                reply.status == 200,
                let status = try? JSONDecoder().decode(NodeStatus.self, from: Data(reply.body)),
                status.role == NodeStateMachine.Role.holder.rawValue, status.epoch >= machine.epoch
            else { continue }
            remember(LeaseRecord(holder: peer.name, address: peer.api, epoch: status.epoch, expiresAtMilliseconds: 0))
            return machine.leaseHeld(holder: peer.name, epoch: status.epoch, now: clock.now())
        }
        return .none
    }

    private func remember(_ record: LeaseRecord) {
        view.holder = record.holder
        view.holderAPI = record.address.isEmpty ? nil : record.address
        view.epoch = max(view.epoch, record.epoch)
    }

    /// Changes what the driver publishes and publishes it at once.
    func update(_ change: (inout NodeSnapshot) -> Void) {
        change(&view)
        publish()
    }

    /// Publishes the node's state: the machine's role and counts with what
    /// the driver learned, each database's position, and the gate of local
    /// requests (open while holding and not handing over).
    func publish() {
        let role = machine.role
        view.role = role
        view.epoch = max(view.epoch, machine.epoch)
        view.failovers = machine.failovers
        view.handoffs = machine.handoffs
        if view.isHolding {
            // A hand-over that offered the baton has named the new holder already.
            if role != .handingOver {
                view.holder = config.name
                view.holderAPI = config.advertisedAPI
            }
        } else if let holder = machine.holder {
            // Keep the last holder known (from the lease or a hand-over) until a newer one is seen:
            // the proxy keeps forwarding there, and retries while it cannot connect.
            view.holder = holder
        }
        for database in node.databases {
            let sealed = replicators[database.name]?.sealedTXID
            let local = sealed ?? standbys[database.name]?.txid
            let feedLatest = database.feed.latest.txid
            let holding = view.isHolding
            database.state.withLock { $0.localTXID = holding ? max(local ?? 0, feedLatest) : local }
        }
        node.requests.setOpen(role == .holder && !view.holdingTraffic)
        // Closed only where the holding ends (step-down, hand-over), after the requests stopped.
        if role == .holder { node.relayConnections.open() }
        node.publish(view)
    }

    private func finishRun() async {
        walWatcher?.stop()
        await closeRelayConnections()
        for worker in node.workers.all { await worker.end() }
        for replicator in replicators.values { replicator.close() }
        for copy in standbys.values { copy.close() }
        publish()
        log("stopped")
    }
}
