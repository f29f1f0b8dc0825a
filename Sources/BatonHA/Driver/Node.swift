import BatonCore
import BatonReplication
import BatonStore
import Synchronization

/// One HA node: the state its HTTP API, front proxy and driver share. The
/// driver (`NodeDriver`) owns the database work and the role machine; HTTP
/// handlers only read this state and queue commands for the driver.
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
    let log: @Sendable (String) -> Void
    let shared = Mutex(Shared())
    /// Signalled when a standby confirms a position, the store confirms an
    /// upload, or the driver finished a capture: acknowledgements wait on it.
    let progress = ChangeSignal()
    /// Wakes the driver before its next round is due (a capture was asked for).
    let driverWake = ChangeSignal()
    /// Wakes the holder's shipping task (a write waits for the store).
    let shipperWake = ChangeSignal()

    /// Commands from the API for the driver.
    enum Command: Sendable {
        case handoff(to: String?, id: UInt64)
        case takeover
    }

    /// What the driver publishes and the API reads.
    struct Shared {
        var role: NodeStateMachine.Role = .starting
        var epoch: UInt64 = 0
        var holder: String?
        var holderAPI: String?
        /// Holder: the app is ready and the lease valid; the proxy sends traffic to the local app.
        var serving = false
        /// Hand-over in progress: the proxy holds new requests.
        var holdingTraffic = false
        /// Requests being forwarded to the local app.
        var inFlight = 0
        var failovers = 0
        var handoffs = 0
        var lastHandoffMilliseconds: Int64?
        var commands: [Command] = []
        var nextCommandID: UInt64 = 0
        var finishedHandoffs: [UInt64: Result<HandoffReport, BatonError>] = [:]
        var shutdownRequested = false
        /// Captures asked for (`captureNow`) and the last one the driver finished.
        var captureRequested: UInt64 = 0
        var captureCompleted: UInt64 = 0
        /// A write waits for the store: seal and upload now instead of after the batch window.
        var flushRequested = false
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
    public init(config: NodeConfig, log: @escaping @Sendable (String) -> Void) throws {
        try config.validate()
        self.config = config
        let metrics = StoreMetrics()
        storeMetrics = metrics
        let storeURL = try StoreURL(config.store)
        store = try storeURL.open(metrics: metrics)
        let group = config.group ?? .single(path: config.database)
        databases = try group.members.map { member in
            NodeDatabase(member: member, store: try storeURL.replica(of: member, in: group).open(metrics: metrics))
        }
        lease = LeaseClient(
            store: store, holder: config.name, address: config.advertisedAPI,
            timing: LeaseStateMachine.Timing(ttlMilliseconds: config.leaseTTLMilliseconds))
        app = config.appCommand.map { AppSupervisor(command: $0, environment: config.appEnvironment, log: log) }
        self.metrics = NodeMetrics(storeMetrics: metrics, databases: group.names)
        peers = PeerClient(token: config.token)
        self.log = log
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

    /// The front proxy's decision for a request that has crossed `hops` proxies already.
    func route(hops: Int) -> Route {
        shared.withLock { state in
            if state.holdingTraffic { return .hold }
            switch state.role {
            case .holder:
                guard state.serving, let upstream = config.appUpstream else { return .hold }
                return .local(upstream)
            case .standby, .starting, .stopped:
                guard hops < Node.maxHops, let holder = state.holder, holder != config.name,
                    let proxy = config.peers.first(where: { $0.name == holder })?.proxy
                else { return .hold }
                return .peer(proxy)
            case .promoting, .handingOver, .steppingDown:
                return .hold
            }
        }
    }

    /// Counts a request forwarded to the local app (hand-over waits for them).
    func beginLocalRequest() { shared.withLock { $0.inFlight += 1 } }

    /// A forwarded request finished (the last one wakes a hand-over waiting for them).
    func endLocalRequest() {
        let idle = shared.withLock { state -> Bool in
            state.inFlight -= 1
            return state.inFlight == 0
        }
        if idle { driverWake.signal() }
    }

    /// Counts a relay request that runs statements on this holder's database,
    /// unless a hand-over is holding traffic (it waits for those counted, so
    /// nothing commits after its last transaction).
    func beginLocalRequestIfServing() -> Bool {
        shared.withLock { state in
            guard state.role == .holder, !state.holdingTraffic else { return false }
            state.inFlight += 1
            return true
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
        let ticket = shared.withLock { state -> UInt64 in
            state.captureRequested += 1
            return state.captureRequested
        }
        driverWake.signal()
        let deadline = MonotonicClock.now() + timeoutMilliseconds
        while true {
            let seen = progress.version
            let (done, holding) = shared.withLock {
                ($0.captureCompleted >= ticket, $0.role == .holder || $0.role == .handingOver)
            }
            // Not the holder any more (fenced, its feed reset): no TXID of ours means anything now.
            guard holding else { return nil }
            if done { return Dictionary(uniqueKeysWithValues: databases.map { ($0.name, $0.feed.latest.txid) }) }
            let now = MonotonicClock.now()
            guard now < deadline else { return nil }
            await progress.wait(from: seen, timeoutMilliseconds: deadline - now)
        }
    }

    /// Queues a command for the driver; returns its id.
    func enqueue(_ make: (UInt64) -> Command) -> UInt64 {
        shared.withLock { state in
            state.nextCommandID += 1
            state.commands.append(make(state.nextCommandID))
            return state.nextCommandID
        }
    }

    /// Asks the node to stop (SIGTERM): a holder hands over first.
    public func requestShutdown() { shared.withLock { $0.shutdownRequested = true } }

    /// The status as `GET /status` shows it: per database, and for the
    /// node the first database's TXID, the largest lag, and streaming only
    /// when every database streams.
    func status() -> NodeStatus {
        let now = MonotonicClock.now()
        let appRunning = app?.isRunning ?? false
        let leaseLeft = lease.timeLeftMilliseconds
        let syncStandby = lease.recordedSyncStandby
        let (role, epoch, holder, failovers, handoffs, lastHandoff) = shared.withLock {
            ($0.role, $0.epoch, $0.holder, $0.failovers, $0.handoffs, $0.lastHandoffMilliseconds)
        }
        let isHolder = role == .holder || role == .handingOver || role == .promoting
        let perDatabase = databases.map {
            $0.status(role: role, now: now, heartbeatTimeoutMilliseconds: config.heartbeatTimeoutMilliseconds)
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
            lastHandoffMilliseconds: lastHandoff, databases: perDatabase)
    }
}
