import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Synchronization

/// One HA node: what its HTTP API, front proxy and driver share. The
/// driver (`NodeDriver`) owns the database work and the role machine and
/// publishes one immutable `NodeSnapshot`; HTTP handlers read it and send
/// commands through the `inbox`.
public final class Node: Sendable {
    /// The configuration it runs with.
    public let config: NodeConfig
    let store: any ObjectStore
    let storeMetrics: StoreMetrics
    let lease: LeaseClient
    /// The databases of the group, in the configured order (the first is the relay's default).
    let databases: [NodeDatabase]
    let app: AppSupervisor?
    let metrics: NodeMetrics
    let peers: PeerClient
    /// The node's TLS material (`tls:`), reloadable; nil serves plain HTTP.
    let tls: NodeTLS?
    let log: @Sendable (String) -> Void
    /// Every deadline of the node is measured on it (a `ManualClock` in driver tests).
    let clock: any BatonClock
    /// Signalled when a standby confirms a position, the store confirms an
    /// upload, or the driver finished a capture: acknowledgements wait on it.
    let progress: ChangeSignal
    /// Wakes the driver before its next round is due (a command, a capture, the last request ending).
    let driverWake: ChangeSignal
    /// Wakes the holder's shipping task (a write waits for the store).
    let shipperWake: ChangeSignal
    /// Signalled whenever what a request's route depends on may have
    /// changed: the driver published, a standby copy applied transactions,
    /// a takeover offer was handled. The proxy and the relay wait on it
    /// while they hold a request.
    let changes: ChangeSignal
    /// Signalled each time the driver has done everything due and waits
    /// (tests use it to know a moved clock has been looked at).
    let driverIdle: ChangeSignal
    /// Commands for the driver.
    let inbox: NodeInbox
    /// Requests running on this holder (a hand-over closes their gate and waits for them).
    let requests: LocalRequests
    /// The relay's open connections to the databases, while holding (closed when it stops).
    let relayConnections: RelayConnections
    /// The long-running parts the driver gives work to by role (services of the node's group).
    let workers: NodeWorkers
    private let published = Mutex(NodeSnapshot())
    private let lastDrill = Mutex<DrillStatus?>(nil)
    /// The relay's per-client limit (`relay.rateLimit`), nil without one.
    private let relayLimiter: Mutex<RateLimiter?>
    private let captures = Mutex(Captures())

    /// Captures asked for (`captureNow`) and the last one the driver finished.
    struct Captures {
        var requested: UInt64 = 0
        var completed: UInt64 = 0
    }

    /// The node as the driver last published it.
    var snapshot: NodeSnapshot { published.withLock { $0 } }

    /// The last scheduled restore drill's result (`verify:`), nil before the first.
    var drill: DrillStatus? { lastDrill.withLock { $0 } }

    /// Whether a relay request of `client` may run now (`relay.rateLimit`).
    func admitRelayRequest(from client: String) -> RateLimiter.Decision {
        let now = clock.now()
        return relayLimiter.withLock { limiter in limiter?.admit(client, nowMilliseconds: now) ?? .admitted }
    }

    /// Keeps a drill's result for `/status` and `/metrics`.
    func recordDrill(_ status: DrillStatus) { lastDrill.withLock { $0 = status } }

    /// Replaces the published snapshot (the driver only).
    func publish(_ snapshot: NodeSnapshot) {
        published.withLock { $0 = snapshot }
        changes.signal()
    }

    /// What a finished hand-over reports to `baton handoff`.
    public struct HandoffReport: Codable, Sendable, Equatable {
        /// The node that gave the baton away.
        public var from: String
        /// The node that was offered it.
        public var to: String
        /// The last transaction before the switch.
        public var txid: UInt64
        /// How long the holder held traffic.
        public var milliseconds: Int64
    }

    /// A node with `config`, its store opened, not yet running.
    public convenience init(config: NodeConfig, log: @escaping @Sendable (String) -> Void) throws {
        try self.init(config: config, clock: SystemClock(), log: log)
    }

    /// A node on `clock` whose stores (the lease's and each database's)
    /// are wrapped by `wrapStore` (tests put faults between the node and its store).
    init(
        config: NodeConfig, clock: any BatonClock,
        wrapStore: (any ObjectStore) -> any ObjectStore = { $0 }, log: @escaping @Sendable (String) -> Void
    ) throws {
        try config.validate()
        self.config = config
        let tls = try config.tls.map { try NodeTLS(settings: $0) }
        self.tls = tls
        relayLimiter = Mutex(config.relayRateLimit.map { RateLimiter(ratePerSecond: $0) })
        self.clock = clock
        progress = ChangeSignal(clock: clock)
        driverWake = ChangeSignal(clock: clock)
        shipperWake = ChangeSignal(clock: clock)
        driverIdle = ChangeSignal(clock: clock)
        changes = ChangeSignal(clock: clock)
        let metrics = StoreMetrics()
        storeMetrics = metrics
        let storeURL = try StoreURL(config.store)
        let encryption = try config.storeEncryption(warn: log)
        store = wrapStore(try storeURL.open(metrics: metrics, encryption: encryption))
        let group = config.group ?? .single(path: config.database)
        let secondURL = try config.secondStore.map { try StoreURL($0) }
        let secondMetrics = StoreMetrics()
        databases = try group.members.map { member in
            let second = try secondURL.map {
                wrapStore(try $0.replica(of: member, in: group).open(metrics: secondMetrics, encryption: encryption))
            }
            return NodeDatabase(
                member: member,
                store: wrapStore(
                    try storeURL.replica(of: member, in: group).open(metrics: metrics, encryption: encryption)),
                secondStore: second, retention: config.retentionPolicy, clock: clock,
                log: { line in log(group.members.count > 1 ? "\(member.name): \(line)" : line) })
        }
        lease = LeaseClient(
            store: store, holder: config.name, address: config.advertisedAPI,
            timing: LeaseStateMachine.Timing(ttlMilliseconds: config.leaseTTLMilliseconds), clock: clock)
        app = config.appCommand.map { AppSupervisor(command: $0, environment: config.appEnvironment, log: log) }
        inbox = NodeInbox(wake: driverWake)
        requests = LocalRequests(idle: driverWake)
        let lease = lease
        relayConnections = RelayConnections(
            busyTimeoutMilliseconds: Int32(clamping: config.relayBusyTimeoutMilliseconds), clock: clock,
            // Past the lease's deadline nothing commits here, as the app is killed then.
            mayCommit: { lease.mayWrite })
        workers = NodeWorkers(databases: group.names)
        self.metrics = NodeMetrics(
            storeMetrics: metrics, databases: group.names, secondStore: config.secondStore != nil ? secondMetrics : nil,
            tls: config.tls != nil, drills: config.verifyEveryMilliseconds != nil,
            leaseTTLMilliseconds: config.leaseTTLMilliseconds)
        peers = PeerClient(token: config.token, tls: tls)
        self.log = log
        for database in databases {
            // A restarted node that must rebuild its copy then reads only the newest headers.
            let path = database.stateDirectory + "/ltx-headers"
            do {
                try ReplicaHeaderCache.shared.keep(inFile: path, for: database.store.displayURL)
            } catch {
                log(
                    "\(database.name): cannot keep the replica's LTX headers in \(path) (\(error)); a rebuild reads them from the store"
                )
            }
        }
    }

    /// Where the front proxy sends a request now.
    enum Route: Equatable {
        case local(String)
        case peer(String)
        case hold
    }

    /// How many proxies a request may cross: two nodes that briefly each
    /// believe the other holds the baton pass a request back and forth at
    /// most this often (with a pause each time) before holding it.
    static let maxHops = 4

    /// The front proxy's decision for a request that has crossed `hops`
    /// proxies already. `.local` counts the request in `requests` (the
    /// caller ends it with `requests.leave()`).
    func route(hops: Int) -> Route {
        let state = snapshot
        if state.holdingTraffic { return .hold }
        switch state.role {
        case .holder:
            guard state.serving, lease.mayWrite, let upstream = config.appUpstream, requests.enter() else {
                return .hold
            }
            return .local(upstream)
        case .standby, .starting, .stopped:
            // A takeover offered to us: the old holder sends its held requests here next.
            guard !inbox.takeoverPending, hops < Node.maxHops, let holder = state.holder, holder != config.name,
                let proxy = config.peers.first(where: { $0.name == holder })?.proxy
            else { return .hold }
            return .peer(proxy)
        case .promoting, .handingOver, .steppingDown:
            return .hold
        }
    }

    /// The database called `name`; nil names the first of the group.
    func database(named name: String?) -> NodeDatabase? {
        guard let name else { return databases.first }
        return databases.first { $0.name == name }
    }

    /// Each database's newest committed TXID once the driver has read every
    /// WAL to its end (so it covers every commit made before the call, in
    /// any database of the group); nil when the driver does not capture in
    /// time (not the holder, or stuck).
    func captureNow(timeoutMilliseconds: Int64) async -> [String: UInt64]? {
        let ticket = captures.withLock { captures -> UInt64 in
            captures.requested += 1
            return captures.requested
        }
        driverWake.signal()
        let deadline = clock.now() + timeoutMilliseconds
        while true {
            let seen = progress.version
            let done = captures.withLock { $0.completed >= ticket }
            let role = snapshot.role
            // Not the holder any more (fenced, its feed reset): no TXID of ours means anything now.
            guard role == .holder || role == .handingOver else { return nil }
            if done { return Dictionary(uniqueKeysWithValues: databases.map { ($0.name, $0.feed.latest.txid) }) }
            let now = clock.now()
            guard now < deadline else { return nil }
            await progress.wait(from: seen, timeoutMilliseconds: deadline - now)
        }
    }

    /// The newest capture asked for (the driver serves it).
    var captureRequested: UInt64 { captures.withLock { $0.requested } }

    /// Whether captures up to `ticket` are served.
    func captureServed(_ ticket: UInt64) -> Bool { captures.withLock { $0.completed >= ticket } }

    /// The driver has read every WAL to its end for captures up to `ticket`.
    func captureCompleted(_ ticket: UInt64) {
        captures.withLock { $0.completed = max($0.completed, ticket) }
        progress.signal()
    }

    /// Asks the node to stop (SIGTERM): a holder hands over first.
    public func requestShutdown() { inbox.send(.shutdown) }

    /// The status as `GET /status` shows it: per database, and for the
    /// node the first database's TXID, the largest lag, and streaming only
    /// when every database streams.
    func status(countDiverged: Bool = false) -> NodeStatus {
        let now = clock.now()
        let appRunning = app?.isRunning ?? false
        let leaseLeft = lease.timeLeftMilliseconds
        let syncStandby = lease.recordedSyncStandby
        let state = snapshot
        let (role, epoch, holder) = (state.role, state.epoch, state.holder)
        let (failovers, handoffs, lastHandoff) = (state.failovers, state.handoffs, state.lastHandoffMilliseconds)
        let isHolder = state.isHolding
        let perDatabase = databases.map {
            $0.status(
                role: role, now: now, heartbeatTimeoutMilliseconds: config.heartbeatTimeoutMilliseconds,
                countDiverged: countDiverged)
        }
        let lags = perDatabase.compactMap(\.lagTransactions)
        let lagTimes = perDatabase.map(\.lagMilliseconds)
        let peers = config.peers.map { peer in
            NodeStatus.Peer(
                name: peer.name, api: peer.api,
                appliedTXID: isHolder ? databases.first?.feed.peerPositions[peer.name] : nil,
                appliedTXIDs: isHolder && databases.count > 1
                    ? Dictionary(
                        uniqueKeysWithValues: databases.compactMap { database in
                            database.feed.peerPositions[peer.name].map { (database.name, $0) }
                        }) : nil)
        }
        return NodeStatus(
            name: config.name, role: role.rawValue, epoch: epoch, holder: holder,
            txid: perDatabase.first?.txid,
            lagTransactions: lags.count == perDatabase.count ? lags.max() : nil,
            lagMilliseconds: lagTimes.contains(nil) ? nil : lagTimes.compactMap { $0 }.max(),
            streaming: !perDatabase.isEmpty && perDatabase.allSatisfy(\.streaming),
            leaseTimeLeftMilliseconds: isHolder ? leaseLeft : nil,
            replication: config.replicationMode.rawValue, syncStandby: isHolder ? syncStandby : nil,
            appRunning: appRunning, peers: peers, failovers: failovers, handoffs: handoffs,
            lastHandoffMilliseconds: lastHandoff, databases: perDatabase, verify: drill)
    }
}
