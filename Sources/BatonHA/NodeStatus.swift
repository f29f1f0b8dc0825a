/// What `GET /status` reports (and `baton status` prints).
public struct NodeStatus: Codable, Sendable, Equatable {
    /// This node's name.
    public var name: String
    /// `starting`, `standby`, `promoting`, `holder`, `handingOver`, `steppingDown`, `stopped`.
    public var role: String
    /// The epoch held (holder) or last seen (standby).
    public var epoch: UInt64
    /// Who holds the baton, as far as this node knows.
    public var holder: String?
    /// The newest transaction in this node's database (captured on a holder, applied on a standby).
    public var txid: UInt64?
    /// On a standby: transactions the holder has that this node has not applied.
    public var lagTransactions: UInt64?
    /// On a standby: how long since it was last fully caught up (0 when it is).
    public var lagMilliseconds: Int64?
    /// On a standby: whether it is receiving the holder's stream.
    public var streaming: Bool
    /// On a holder: milliseconds until it must stop writes unless it renews.
    public var leaseTimeLeftMilliseconds: Int64?
    /// `async` or `sync`.
    public var replication: String?
    /// On a holder in sync mode: the standby the lease names as in sync (nil: none; writes wait for the store).
    public var syncStandby: String?
    /// Whether the app runs here.
    public var appRunning: Bool
    /// The other nodes, with what each last said it had applied (on a holder).
    public var peers: [Peer]
    /// Takeovers after a holder failed, seen by this node.
    public var failovers: Int
    /// Hand-overs away from this node.
    public var handoffs: Int
    /// Duration of the last hand-over away from this node.
    public var lastHandoffMilliseconds: Int64?

    /// A peer as the status shows it.
    public struct Peer: Codable, Sendable, Equatable {
        /// Its name.
        public var name: String
        /// Its API URL.
        public var api: String
        /// The newest transaction it confirmed (holder only).
        public var appliedTXID: UInt64?
    }
}
