/// Hands a non-Sendable object to exactly one other task at a time (the
/// node's driver gives the standby copy to the follower and takes it back
/// only after the follower task has ended; a group backup gives each
/// replicator to the one task that drives it).
public struct UncheckedBox<Value>: @unchecked Sendable {
    /// The object.
    public let value: Value
    /// Boxes `value`.
    public init(_ value: Value) { self.value = value }
}
