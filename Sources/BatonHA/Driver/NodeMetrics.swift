import BatonStore
import Prometheus
import Synchronization

/// The node's Prometheus metrics (`GET /metrics`). Gauges are set from the
/// node's status when scraped; counters grow as things happen.
final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let roles = ["starting", "standby", "promoting", "holder", "handingOver", "steppingDown", "stopped"]
    private let roleGauges: [String: Gauge]
    private let epoch: Gauge
    private let txid: Gauge
    private let lagTransactions: Gauge
    private let lagSeconds: Gauge
    private let leaseSeconds: Gauge
    private let appRunning: Gauge
    private let failovers: Gauge
    private let handoffs: Gauge
    private let syncStandbyNamed: Gauge
    private let syncMode: Gauge
    private let leaseTTL: Gauge
    private let leaseTTLMilliseconds: Int64
    /// With `verify:`: when the last restore drill that passed started, and whether the last one failed.
    private let lastVerified: Gauge?
    private let verifyFailed: Gauge?
    /// With `tls:`: when the certificate in use expires.
    private let certificateExpiry: Gauge?
    /// Transactions sent to standbys.
    let streamedTransactions: Counter
    /// Bytes sent to standbys.
    let streamedBytes: Counter
    /// Transactions applied from the holder (standby).
    let appliedTransactions: Counter
    /// Sync mode: how long write responses waited for the standby or the store.
    let syncWait: DurationHistogram
    /// Sync mode: write responses answered as not confirmed.
    let unconfirmedWrites: Counter
    /// Relay API requests by endpoint.
    let relayRequests: Counter
    private let storeRequests: StoreRequestCounters
    /// With a second store: its requests, counted apart.
    private let secondStoreRequests: StoreRequestCounters?
    private let storeBytesUp: Gauge
    private let storeBytesDown: Gauge
    private let storeMetrics: StoreMetrics
    /// Per database of the group (`db` label): newest transaction, lag, what the store confirmed.
    private let databaseGauges: [String: DatabaseGauges]

    /// One database's gauges (`db` label).
    private struct DatabaseGauges {
        var txid: Gauge
        var lag: Gauge
        var lagSeconds: Gauge
        var stored: Gauge
        var storedAt: Gauge
        var diverged: Gauge
    }
    /// With a second store, per database: its newest transaction there, how far it is behind the primary, when it was last copied to.
    private let secondStoreGauges: [String: (txid: Gauge, lag: Gauge, copied: Gauge)]

    init(
        storeMetrics: StoreMetrics, databases: [String], secondStore: StoreMetrics? = nil, tls: Bool = false,
        drills: Bool = false, leaseTTLMilliseconds: Int64 = 10_000
    ) {
        self.storeMetrics = storeMetrics
        self.leaseTTLMilliseconds = leaseTTLMilliseconds
        storeRequests = StoreRequestCounters(
            registry: registry, name: "baton_store_requests_total", help: "Requests to the store by kind and outcome",
            source: storeMetrics)
        secondStoreRequests = secondStore.map { [registry] in
            StoreRequestCounters(
                registry: registry, name: "baton_second_store_requests_total",
                help: "Requests to the second store (the DR copy) by kind and outcome", source: $0)
        }
        lastVerified =
            drills
            ? registry.makeGauge(
                name: "baton_last_verified_timestamp_seconds",
                help: "When the last scheduled restore drill that passed started (0: none yet); alert when it gets old")
            : nil
        verifyFailed =
            drills
            ? registry.makeGauge(
                name: "baton_verify_failed", help: "1 when the last scheduled restore drill found a restore that failed"
            )
            : nil
        certificateExpiry =
            tls
            ? registry.makeGauge(
                name: "baton_tls_certificate_expiry_timestamp_seconds",
                help: "When the node's TLS certificate in use expires (renew it before; SIGHUP reloads it)") : nil
        var gauges: [String: Gauge] = [:]
        for role in roles {
            gauges[role] = registry.makeGauge(
                name: "baton_role", labels: [("role", role)], help: "1 for the node's current role")
        }
        roleGauges = gauges
        epoch = registry.makeGauge(name: "baton_epoch", help: "Lease epoch held or last seen")
        txid = registry.makeGauge(name: "baton_txid", help: "Newest transaction in the local database")
        lagTransactions = registry.makeGauge(
            name: "baton_replication_lag_transactions", help: "Standby: transactions behind the holder")
        lagSeconds = registry.makeGauge(
            name: "baton_replication_lag_seconds", help: "Standby: seconds since it was last caught up")
        leaseSeconds = registry.makeGauge(
            name: "baton_lease_time_left_seconds", help: "Holder: seconds until writes stop unless renewed")
        appRunning = registry.makeGauge(name: "baton_app_running", help: "1 while the app runs on this node")
        failovers = registry.makeGauge(name: "baton_failovers", help: "Takeovers after a failed holder seen here")
        handoffs = registry.makeGauge(name: "baton_handoffs", help: "Hand-overs away from this node")
        syncMode = registry.makeGauge(
            name: "baton_replication_sync", help: "1 in sync mode (replication: sync), 0 in async mode")
        leaseTTL = registry.makeGauge(name: "baton_lease_ttl_seconds", help: "The lease's time to live (lease.ttl)")
        syncStandbyNamed = registry.makeGauge(
            name: "baton_sync_standby_named",
            help: "Holder in sync mode: 1 while the lease names an in-sync standby, 0 while writes wait for the store")
        streamedTransactions = registry.makeCounter(
            name: "baton_streamed_transactions_total", help: "Transactions sent to standbys")
        streamedBytes = registry.makeCounter(name: "baton_streamed_bytes_total", help: "Bytes sent to standbys")
        appliedTransactions = registry.makeCounter(
            name: "baton_applied_transactions_total", help: "Transactions applied from the holder")
        syncWait = registry.makeDurationHistogram(
            name: "baton_sync_wait_seconds",
            buckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
            ],
            help: "Sync mode: how long a write's response waited for the standby or the store")
        unconfirmedWrites = registry.makeCounter(
            name: "baton_unconfirmed_writes_total", help: "Sync mode: write responses answered as not confirmed")
        relayRequests = registry.makeCounter(
            name: "baton_relay_requests_total", help: "Relay API requests (/db/execute, /db/query, /db/request)")
        storeBytesUp = registry.makeGauge(name: "baton_store_uploaded_bytes", help: "Bytes sent to the store")
        storeBytesDown = registry.makeGauge(name: "baton_store_downloaded_bytes", help: "Bytes read from the store")
        var perDatabase: [String: DatabaseGauges] = [:]
        for name in databases {
            let labels = [("db", name)]
            perDatabase[name] = DatabaseGauges(
                txid: registry.makeGauge(
                    name: "baton_database_txid", labels: labels, help: "Newest transaction of this database here"),
                lag: registry.makeGauge(
                    name: "baton_database_lag_transactions", labels: labels,
                    help: "Standby: transactions of this database behind the holder"),
                lagSeconds: registry.makeGauge(
                    name: "baton_database_lag_seconds", labels: labels,
                    help: "Standby: seconds since this database was last caught up"),
                stored: registry.makeGauge(
                    name: "baton_database_stored_txid", labels: labels,
                    help: "Holder: newest transaction of this database the store confirmed in this term"),
                storedAt: registry.makeGauge(
                    name: "baton_database_last_upload_timestamp_seconds", labels: labels,
                    help:
                        "Holder: when the store last confirmed a newer transaction of this database (0: not in this term)"
                ),
                diverged: registry.makeGauge(
                    name: "baton_database_diverged_copies", labels: labels,
                    help: "Copies of this database kept aside as diverged on this node (<file>.diverged-*)"))
        }
        databaseGauges = perDatabase
        var second: [String: (txid: Gauge, lag: Gauge, copied: Gauge)] = [:]
        for name in secondStore != nil ? databases : [] {
            let labels = [("db", name)]
            second[name] = (
                registry.makeGauge(
                    name: "baton_second_store_txid", labels: labels,
                    help: "Holder: newest transaction of this database the second store holds"),
                registry.makeGauge(
                    name: "baton_second_store_lag_transactions", labels: labels,
                    help: "Holder: transactions the primary store holds that the second does not yet"),
                registry.makeGauge(
                    name: "baton_second_store_last_copy_timestamp_seconds", labels: labels,
                    help: "Holder: when that newest transaction's file was copied to the second store")
            )
        }
        secondStoreGauges = second
    }

    /// The text exposition, with gauges taken from `status` (and the
    /// certificate's end, with TLS).
    func render(_ status: NodeStatus, certificateNotValidAfter: Int64? = nil) -> [UInt8] {
        if let certificateNotValidAfter { certificateExpiry?.set(Double(certificateNotValidAfter)) }
        lastVerified?.set(Double(status.verify?.lastPassedMilliseconds ?? 0) / 1000)
        verifyFailed?.set(to: status.verify.map { $0.passed ? 0.0 : 1.0 } ?? 0.0)
        for (role, gauge) in roleGauges { gauge.set(to: role == status.role ? 1.0 : 0.0) }
        epoch.set(Double(status.epoch))
        txid.set(Double(status.txid ?? 0))
        lagTransactions.set(Double(status.lagTransactions ?? 0))
        lagSeconds.set(Double(status.lagMilliseconds ?? 0) / 1000)
        leaseSeconds.set(Double(status.leaseTimeLeftMilliseconds ?? 0) / 1000)
        appRunning.set(to: status.appRunning ? 1.0 : 0.0)
        failovers.set(Double(status.failovers))
        handoffs.set(Double(status.handoffs))
        syncStandbyNamed.set(to: status.syncStandby == nil ? 0.0 : 1.0)
        syncMode.set(to: status.replication == "sync" ? 1.0 : 0.0)
        leaseTTL.set(Double(leaseTTLMilliseconds) / 1000)
        for database in status.databases ?? [] {
            guard let gauges = databaseGauges[database.name] else { continue }
            gauges.txid.set(Double(database.txid ?? 0))
            gauges.lag.set(Double(database.lagTransactions ?? 0))
            gauges.lagSeconds.set(Double(database.lagMilliseconds ?? 0) / 1000)
            gauges.stored.set(Double(database.storedTXID ?? 0))
            gauges.storedAt.set(Double(database.storedMilliseconds ?? 0) / 1000)
            gauges.diverged.set(Double(database.divergedCopies ?? 0))
            if let second = secondStoreGauges[database.name] {
                second.txid.set(Double(database.secondStoreTXID ?? 0))
                second.lag.set(Double(database.secondStoreLagTransactions ?? 0))
                second.copied.set(Double(database.secondStoreCopiedMilliseconds ?? 0) / 1000)
            }
        }
        let bytes = storeMetrics.bytes
        storeBytesUp.set(Double(bytes.up))
        storeBytesDown.set(Double(bytes.down))
        storeRequests.update()
        secondStoreRequests?.update()
        return registry.emitToBuffer()
    }
}
