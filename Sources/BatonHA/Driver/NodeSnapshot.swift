import BatonCore

/// What the driver publishes about the node, as one immutable value: the
/// API, the front proxy and the relay read it; only the driver replaces it
/// (`NodeDriver.publish`). Anything else that wants the node to act sends a
/// command (`NodeInbox`).
struct NodeSnapshot: Sendable, Equatable {
    /// The role machine's role.
    var role: NodeStateMachine.Role = .starting
    /// The epoch held, or the newest seen.
    var epoch: UInt64 = 0
    /// Who holds the baton, as far as this node knows.
    var holder: String?
    /// The holder's API URL (from the lease or the configured peers).
    var holderAPI: String?
    /// Holder: the app is ready and the lease valid; the proxy sends traffic to the local app.
    var serving = false
    /// A hand-over or a takeover in progress: the proxy holds new requests.
    var holdingTraffic = false
    /// Takeovers after a holder failed, seen by this node.
    var failovers = 0
    /// Hand-overs away from this node.
    var handoffs = 0
    /// How long the last hand-over away from this node held traffic.
    var lastHandoffMilliseconds: Int64?

    /// Whether this node holds the baton in some step (promoting, serving or handing over).
    var isHolding: Bool { role == .holder || role == .promoting || role == .handingOver }
}
