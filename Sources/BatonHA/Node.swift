import BatonCore
import BatonNode
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
    let feed = TransactionFeed()
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
    /// A standby's copy: held while the follower applies a batch and while
    /// the relay API reads it; true while the copy is a known commit state.
    let copyGate = Mutex(false)

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
        var localTXID: UInt64?
        var holderTXID: UInt64?
        var lastContact: Int64 = .min
        var lastCaughtUp: Int64 = .min
        var epochStartTXID: UInt64 = 0
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
        /// The newest transaction the store confirmed in this holder's run.
        var storedTXID: UInt64 = 0
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
        store = try StoreURL(config.store).open(metrics: metrics)
        lease = LeaseClient(
            store: store, holder: config.name, address: config.advertisedAPI,
            timing: LeaseStateMachine.Timing(ttlMilliseconds: config.leaseTTLMilliseconds))
        app = config.appCommand.map { AppSupervisor(command: $0, environment: config.appEnvironment, log: log) }
        self.metrics = NodeMetrics(storeMetrics: metrics)
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

    /// The newest committed TXID once the driver has read the WAL to its end
    /// (so it covers every commit made before the call); nil when the
    /// driver does not capture in time (not the holder, or stuck).
    func captureNow(timeoutMilliseconds: Int64) async -> UInt64? {
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
            if done { return feed.latest.txid }
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

    /// The status as `GET /status` shows it.
    func status() -> NodeStatus {
        let now = MonotonicClock.now()
        let positions = feed.peerPositions
        let appRunning = app?.isRunning ?? false
        let leaseLeft = lease.timeLeftMilliseconds
        let syncStandby = lease.recordedSyncStandby
        return shared.withLock { state in
            let isHolder = state.role == .holder || state.role == .handingOver || state.role == .promoting
            let streaming =
                state.role == .standby && state.lastContact != .min
                && now - state.lastContact < config.heartbeatTimeoutMilliseconds
            var lag: UInt64?
            var lagTime: Int64?
            if state.role == .standby, let local = state.localTXID, let remote = state.holderTXID {
                lag = remote > local ? remote - local : 0
                lagTime = lag == 0 ? 0 : (state.lastCaughtUp == .min ? nil : now - state.lastCaughtUp)
            }
            return NodeStatus(
                name: config.name, role: state.role.rawValue, epoch: state.epoch, holder: state.holder,
                txid: state.localTXID, lagTransactions: lag, lagMilliseconds: lagTime, streaming: streaming,
                leaseTimeLeftMilliseconds: isHolder ? leaseLeft : nil,
                replication: config.replicationMode.rawValue, syncStandby: isHolder ? syncStandby : nil,
                appRunning: appRunning,
                peers: config.peers.map {
                    NodeStatus.Peer(name: $0.name, api: $0.api, appliedTXID: isHolder ? positions[$0.name] : nil)
                },
                failovers: state.failovers, handoffs: state.handoffs,
                lastHandoffMilliseconds: state.lastHandoffMilliseconds)
        }
    }
}
