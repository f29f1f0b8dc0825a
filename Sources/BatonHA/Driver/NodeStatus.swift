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
    /// The newest transaction in this node's (first) database (captured on a holder, applied on a standby).
    public var txid: UInt64?
    /// On a standby: transactions the holder has that this node has not applied (the most of any database).
    public var lagTransactions: UInt64?
    /// On a standby: how long since it was last fully caught up (0 when it is; the longest of any database).
    public var lagMilliseconds: Int64?
    /// On a standby: whether it is receiving the holder's stream of every database.
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
    /// Each database of the group (nil from nodes that predate groups).
    public var databases: [Database]?
    /// With `verify:`: the last scheduled restore drill (nil before the first).
    public var verify: DrillStatus? = nil

    /// One database as the status shows it.
    public struct Database: Codable, Sendable, Equatable {
        /// Its name in the group.
        public var name: String
        /// Its file on this node.
        public var path: String
        /// Its newest transaction here.
        public var txid: UInt64?
        /// On a standby: transactions of it the holder has that this node has not applied.
        public var lagTransactions: UInt64?
        /// On a standby: how long since it was last caught up (0 when it is).
        public var lagMilliseconds: Int64?
        /// On a standby: whether its stream is being received.
        public var streaming: Bool
        /// On a holder: the newest transaction the store confirmed in this term.
        public var storedTXID: UInt64?
        /// On a holder with a second store: the newest transaction it holds.
        public var secondStoreTXID: UInt64?
        /// On a holder with a second store: transactions the primary holds that it does not yet.
        public var secondStoreLagTransactions: UInt64?
        /// On a holder with a second store: when (ms since the epoch) it last got a newer transaction.
        public var secondStoreCopiedMilliseconds: Int64?
        /// On a holder: when (ms since the epoch) the store last confirmed a newer transaction.
        public var storedMilliseconds: Int64? = nil
        /// Copies of it kept aside as diverged on this node (`<file>.diverged-*`).
        public var divergedCopies: Int? = nil
    }

    /// A peer as the status shows it.
    public struct Peer: Codable, Sendable, Equatable {
        /// Its name.
        public var name: String
        /// Its API URL.
        public var api: String
        /// The newest transaction of the first database it confirmed (holder only).
        public var appliedTXID: UInt64?
        /// In a group: the newest transaction of each database it confirmed (holder only).
        public var appliedTXIDs: [String: UInt64]?
    }
}
