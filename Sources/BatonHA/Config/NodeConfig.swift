import BatonCore
import Foundation
import Yams

/// Everything `baton node` needs, read from `baton.yml` (with `${VAR}` and
/// `${VAR:-default}` expanded from the environment) and overridden by flags.
/// Every key is documented in the README; `validate()` names the first
/// problem with a key path.
public struct NodeConfig: Sendable, Equatable {
    /// This node's name, unique in the cluster (written into the lease).
    public var name = ""
    /// The database file the app uses.
    public var database = ""
    /// The group from `databases:` (a list, or a directory and pattern); nil with `database:`.
    public var databases: DatabaseGroup?
    /// Replica URL: `file:///dir`, a path, or `s3://bucket/prefix?...`.
    public var store = ""
    /// `stores: [primary, second]`: a second store every file is copied to
    /// from the primary (a DR copy); the lease stays in the primary.
    public var secondStore: String?
    /// `encryption.identity`: the age identity file the replica is
    /// encrypted to and opened with; nil writes it plain.
    public var encryptionIdentity: String?
    /// `encryption.recipients`: more age recipients every new file is encrypted to.
    public var encryptionRecipients: [String] = []
    /// Where the node API listens (`host:port`); loopback unless a token is set.
    public var apiListen = "127.0.0.1:8700"
    /// How peers reach this node's API (default `http://<apiListen>`).
    public var apiAdvertise: String?
    /// Where the front proxy listens; nil disables it.
    public var proxyListen: String?
    /// How peers reach this node's front proxy (default `http://<proxyListen>`).
    public var proxyAdvertise: String?
    /// The local app's address the proxy forwards to on the holder.
    public var appUpstream: String?
    /// The app: a shell command run only on the holder; nil runs no app.
    public var appCommand: String?
    /// Extra environment for the app.
    public var appEnvironment: [String: String] = [:]
    /// A URL that answers 2xx once the app is ready; without it the app is ready once started.
    public var appReadyURL: String?
    /// How long the app may take to become ready.
    public var appStartTimeoutMilliseconds: Int64 = 30_000
    /// How long the app gets to exit after SIGTERM before SIGKILL.
    public var appStopTimeoutMilliseconds: Int64 = 10_000
    /// The other nodes.
    public var peers: [Peer] = []
    /// Lease time to live.
    public var leaseTTLMilliseconds: Int64 = 10_000
    /// Without contact with the holder for this long, a standby looks at the lease.
    public var heartbeatTimeoutMilliseconds: Int64 = 2000
    /// How long the proxy holds a request while no holder is serving (hand-over, failover).
    public var holdTimeoutMilliseconds: Int64 = 15_000
    /// How long a hand-over waits for a standby to catch up.
    public var handoffTimeoutMilliseconds: Int64 = 10_000
    /// `tls:`: the API, the proxy and peer requests over TLS; nil = plain HTTP.
    public var tls: TLSSettings?
    /// `insecure: true`: the node API may listen beyond loopback without
    /// TLS (the token and the database's pages cross the network in clear).
    public var insecure = false
    /// Bearer token required on the node API (and sent to peers); nil = no auth.
    public var token: String?
    /// Commits within this window go into one file in the store (standbys get every commit at once).
    public var storeBatchWindowMilliseconds: Int64 = 1000
    /// `sync`: a write's response leaves the holder only once the in-sync
    /// standby (or the store) holds its transaction.
    public var replicationMode: ReplicationMode = .async
    /// What sync mode does when the in-sync standby stops confirming.
    public var onStandbyLoss: SyncAcknowledgement.Policy = .degrade
    /// How long a write waits for the in-sync standby before `onStandbyLoss` applies.
    public var standbyTimeoutMilliseconds: Int64 = 1000
    /// Methods the proxy treats as reads: their responses are never held and carry no TXID.
    public var readMethods: Set<String> = ["GET", "HEAD", "OPTIONS"]
    /// The largest relay API request body.
    public var relayMaxBodyBytes = 8 << 20
    /// How long the relay's statements wait for SQLite's write lock.
    public var relayBusyTimeoutMilliseconds: Int64 = 5000
    /// How long a stale read on a standby waits for a TXID it must see before going to the holder.
    public var relayReadWaitMilliseconds: Int64 = 1000
    /// `relay.rateLimit`: relay requests per second each client address may
    /// make (bursts of one second's worth); nil: no limit.
    public var relayRateLimit: Double?

    /// `retention.pointInTime`: how much point-in-time history the store
    /// keeps; older files no restore in the window needs are deleted.
    public var retentionMilliseconds: Int64 = 24 * 3_600_000
    /// `retention.snapshotInterval`: a full snapshot this often. History is
    /// deleted only up to a snapshot taken before the window starts, so the
    /// store holds up to window + interval.
    public var snapshotIntervalMilliseconds: Int64 = 24 * 3_600_000
    /// `retention.hourly`, `.daily`, `.weekly`: restore points kept before the window.
    public var retentionHourly = 0
    public var retentionDaily = 0
    public var retentionWeekly = 0

    /// The window and the tiers as one policy.
    public var retentionPolicy: RetentionPolicy {
        RetentionPolicy(
            pointInTimeMilliseconds: retentionMilliseconds, hourly: retentionHourly, daily: retentionDaily,
            weekly: retentionWeekly)
    }

    /// `verify.every`: a restore drill this often while a standby; nil runs none.
    public var verifyEveryMilliseconds: Int64?
    /// `verify.points`: earlier points each drill restores besides the newest state.
    public var verifyPoints = 5

    /// How many copies set aside as diverged to keep per database (the
    /// oldest beyond it are removed, logged); nil keeps every one.
    public var divergedCopiesKept: Int?

    /// Async or sync replication to standbys.
    public enum ReplicationMode: String, Sendable, Equatable, CaseIterable {
        /// Acknowledge at once; a crash loses what the standby had not received yet.
        case async
        /// Acknowledge a write once the in-sync standby (or the store) holds it.
        case sync
    }

    /// Another node.
    public struct Peer: Sendable, Equatable {
        /// Its name.
        public var name: String
        /// Its API URL, e.g. `http://10.0.0.2:8700`.
        public var api: String
        /// Its front proxy URL, if it runs one.
        public var proxy: String?

        /// A peer.
        public init(name: String, api: String, proxy: String? = nil) {
            self.name = name
            self.api = api
            self.proxy = proxy
        }
    }

    /// An empty configuration (fill it from flags).
    public init() {}

    /// Every database the config names: `databases:`, or `database:` as a group of one at the store's root.
    public var group: DatabaseGroup? {
        if let databases { return databases }
        return database.isEmpty ? nil : .single(path: database)
    }

    /// The names of the databases the node holds (a group of one: the file's stem).
    public var databaseNames: [String] { (group ?? .single(path: database)).names }

    /// The API URL peers use for this node.
    public var advertisedAPI: String { apiAdvertise ?? "\(scheme)://\(apiListen)" }

    /// The proxy URL peers use for this node.
    public var advertisedProxy: String? { proxyAdvertise ?? proxyListen.map { "\(scheme)://\($0)" } }

    /// `https` with `tls:`, `http` without.
    var scheme: String { tls == nil ? "http" : "https" }

    /// Reads `path`, expanding environment variables.
    public static func load(path: String, environment: [String: String]) throws -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatonError(.notFound, "cannot read config file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path, environment: environment)
    }

    /// Parses YAML `text` (named `source` in errors).
    public static func parse(_ text: String, source: String, environment: [String: String]) throws -> NodeConfig {
        let expanded = try ConfigExpansion.expand(text, environment: environment, source: source)
        let root: Any?
        do {
            root = try Yams.load(yaml: expanded)
        } catch {
            throw BatonError(.usage, "\(source): not valid YAML: \(error)")
        }
        guard let root else { return NodeConfig() }
        guard let map = root as? [String: Any] else {
            throw BatonError(.usage, "\(source): the top level must be a mapping")
        }
        var reader = ConfigReader(source: source)
        return try reader.read(map)
    }

    /// Checks that the configuration can run; throws `usage` naming the key.
    public func validate() throws {
        func fail(_ message: String) -> BatonError { BatonError(.usage, message) }
        if name.isEmpty { throw fail("name is required (this node's unique name)") }
        if name.contains(where: { $0 == "/" || $0 == " " }) { throw fail("name must not contain '/' or spaces") }
        if let directory = databases?.directory {
            throw fail(
                "databases: {dir: \(directory.path), pattern: \(directory.pattern)} (a directory) works with `baton replicate` only; `baton node` needs the group listed (databases: - path: …), so every node holds the same databases"
            )
        }
        if database.isEmpty, databases == nil {
            throw fail("database (one SQLite file) or databases (a list of them) is required")
        }
        if store.isEmpty { throw fail("store is required (file:///dir or s3://bucket/prefix)") }
        if let secondStore, secondStore == store { throw fail("stores: the second store must differ from the primary") }
        if HostPort(apiListen) == nil { throw fail("api.listen must be host:port, got '\(apiListen)'") }
        if let proxyListen, HostPort(proxyListen) == nil {
            throw fail("proxy.listen must be host:port, got '\(proxyListen)'")
        }
        if proxyListen != nil, appUpstream == nil {
            throw fail("proxy.upstream (the local app's URL) is required with proxy.listen")
        }
        if token == nil, tls?.clientAuth != .require, let host = HostPort(apiListen)?.host, !HostPort.isLoopback(host) {
            throw fail(
                "api.listen on \(host) needs a token (token:) or mutual TLS (tls.clientAuth: require); without either the API listens on loopback only"
            )
        }
        if tls == nil, !insecure, let host = HostPort(apiListen)?.host, !HostPort.isLoopback(host) {
            throw fail(
                "api.listen on \(host) without tls: would send the token and every page of the database in clear; add tls: (README, TLS) or, on a network you trust, insecure: true"
            )
        }
        if tls != nil {
            let plain = peers.first { !$0.api.hasPrefix("https://") || !($0.proxy ?? "https://").hasPrefix("https://") }
            if let plain {
                throw fail(
                    "peers: \(plain.name) is reached over plain HTTP, but this node has tls: give its api (and proxy) as https:// URLs"
                )
            }
            if let advertised = apiAdvertise, !advertised.hasPrefix("https://") {
                throw fail("api.advertise must be an https:// URL with tls:, got '\(advertised)'")
            }
        }
        if Set(peers.map(\.name)).count != peers.count { throw fail("peers: names must be unique") }
        if peers.contains(where: { $0.name == name }) { throw fail("peers: must not list this node (\(name)) itself") }
        if leaseTTLMilliseconds < 3000 { throw fail("lease.ttl must be at least 3s") }
        if heartbeatTimeoutMilliseconds >= leaseTTLMilliseconds {
            throw fail("lease.heartbeatTimeout must be shorter than lease.ttl")
        }
        if standbyTimeoutMilliseconds < 10 { throw fail("replication.standbyTimeout must be at least 10ms") }
        if retentionMilliseconds < 60_000 { throw fail("retention.pointInTime must be at least 1m") }
        if snapshotIntervalMilliseconds < 60_000 { throw fail("retention.snapshotInterval must be at least 1m") }
        if let every = verifyEveryMilliseconds, every < 1000 { throw fail("verify.every must be at least 1s") }
        if verifyPoints < 0 { throw fail("verify.points must be 0 or more") }
        if relayMaxBodyBytes < 1024 { throw fail("relay.maxBodyBytes must be at least 1024") }
    }
}

/// `host:port` split.
struct HostPort: Equatable {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host.isEmpty { return nil }
        self.port = port
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }
}
