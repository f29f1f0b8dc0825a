/// The node's long-running parts besides the driver and its HTTP servers,
/// each a `NodeWorker` the driver gives work to by role: the lease keeper
/// and sync monitor of a holder, and per database a holder's shipper (and
/// second-store copier) and a standby's stream follower.
struct NodeWorkers: Sendable {
    /// Holder: renews the lease and kills the app at its deadline.
    let lease = NodeWorker(name: "lease keeper")
    /// Holder in sync mode: names a standby in sync once it keeps up.
    let syncMonitor = NodeWorker(name: "sync monitor")
    /// Holder: each database's uploads to the store, by name.
    let shippers: [String: NodeWorker]
    /// Standby: each database's stream from the holder, by name.
    let followers: [String: NodeWorker]
    /// Holder with a second store: each database's copies to it, by name.
    let mirrors: [String: NodeWorker]
    /// Every worker, the lease keeper first (shut down last).
    let all: [NodeWorker]

    /// Workers for a group with these database names.
    init(databases: [String]) {
        let shippers = Dictionary(uniqueKeysWithValues: databases.map { ($0, NodeWorker(name: "shipper of \($0)")) })
        let followers = Dictionary(
            uniqueKeysWithValues: databases.map { ($0, NodeWorker(name: "stream follower of \($0)")) })
        let mirrors = Dictionary(
            uniqueKeysWithValues: databases.map { ($0, NodeWorker(name: "second-store copier of \($0)")) })
        self.shippers = shippers
        self.followers = followers
        self.mirrors = mirrors
        all =
            [lease, syncMonitor] + databases.compactMap { shippers[$0] } + databases.compactMap { followers[$0] }
            + databases.compactMap { mirrors[$0] }
    }
}
