/// Whether this process may act as the holder of the baton, as a pure state
/// machine: events in (with the local monotonic time), actions out.
///
/// ## Safety argument
///
/// The record says the lease expires at `D + ttl` on the store's clock, where
/// `D` is the store's `Date` read by a request *sent* at local monotonic time
/// `t`. The store stamped `D` after `t`, and `Date` is truncated to whole
/// seconds, so at local time `t` the store's clock read less than
/// `D + 1 s`. Another contender sees the lease expired only once the store's
/// clock passes `D + ttl`, which is at least `ttl − 1 s` of store time after
/// `t`. With clocks drifting at most `maxDriftRate` relative to each other,
/// that is at least `(ttl − 1 s) × (1 − maxDriftRate)` of local time. The
/// holder believes it holds the lease only until
/// `t + (ttl − 1 s) × (1 − maxDriftRate) − margin` and stops writing before
/// then (self-fencing): at no instant can two contenders both believe they hold it.
public struct LeaseStateMachine: Sendable {
    /// Timing settings.
    public struct Timing: Sendable, Equatable {
        /// Lease time to live.
        public var ttlMilliseconds: Int64 = 10_000
        /// Renew this often.
        public var renewEveryMilliseconds: Int64 = 3_333
        /// Bound on the relative drift of any two clocks (e.g. 0.01 = 1%).
        public var maxDriftRate = 0.01
        /// Extra safety subtracted from the deadline (time to stop writing).
        public var marginMilliseconds: Int64 = 500
        /// Resolution of the store's clock (HTTP `Date` has whole seconds).
        public var clockResolutionMilliseconds: Int64 = 1000

        /// Defaults for `ttl`: renew every third of it.
        public init(ttlMilliseconds: Int64 = 10_000) {
            self.ttlMilliseconds = ttlMilliseconds
            renewEveryMilliseconds = ttlMilliseconds / 3
        }

        /// How long after sending a successful write the holder may act.
        public var holdMilliseconds: Int64 {
            Int64(Double(ttlMilliseconds - clockResolutionMilliseconds) * (1 - maxDriftRate)) - marginMilliseconds
        }
    }

    /// Where the machine is.
    public enum State: Equatable, Sendable {
        /// Not holding.
        case idle
        /// Holding epoch `epoch` until local time `deadline`; `etag` is the record's.
        case holding(epoch: UInt64, etag: String, deadline: Int64, lastRenewSent: Int64)
        /// Was holding; stopped (lost, expired or released).
        case stopped(epoch: UInt64)
    }

    /// What the driver must do.
    public enum Action: Equatable, Sendable {
        /// Nothing now.
        case none
        /// Send a renewal (conditional on `etag`).
        case renew(epoch: UInt64, etag: String)
        /// Stop writing at once: the lease is no longer provably held.
        case stopWrites(epoch: UInt64)
    }

    /// Timing in use.
    public let timing: Timing
    /// Current state.
    public private(set) var state: State = .idle

    /// A machine with `timing`.
    public init(timing: Timing) { self.timing = timing }

    /// Whether writes are allowed at local time `now`.
    public func mayWrite(at now: Int64) -> Bool {
        if case .holding(_, _, let deadline, _) = state { return now < deadline }
        return false
    }

    /// A conditional write that made us holder of `epoch` succeeded; it was sent at `sentAt`.
    public mutating func acquired(epoch: UInt64, etag: String, sentAt: Int64) {
        state = .holding(epoch: epoch, etag: etag, deadline: sentAt + timing.holdMilliseconds, lastRenewSent: sentAt)
    }

    /// A renewal sent at `sentAt` succeeded with the record's new `etag`.
    public mutating func renewed(etag: String, sentAt: Int64) -> Action {
        guard case .holding(let epoch, _, let deadline, _) = state else { return .none }
        // A late answer can only move the deadline forward from when it was sent.
        let next = max(deadline, sentAt + timing.holdMilliseconds)
        state = .holding(epoch: epoch, etag: etag, deadline: next, lastRenewSent: sentAt)
        return .none
    }

    /// The record changed under us (412): someone else holds it now.
    public mutating func preconditionFailed() -> Action {
        guard case .holding(let epoch, _, _, _) = state else { return .none }
        state = .stopped(epoch: epoch)
        return .stopWrites(epoch: epoch)
    }

    /// A renewal failed for another reason (timeout, store down): keep the
    /// deadline; `tick` stops writes when it passes.
    public mutating func renewFailed(now: Int64) -> Action { tick(now: now) }

    /// Time passed: stop at the deadline, ask for a renewal when due.
    public mutating func tick(now: Int64) -> Action {
        guard case .holding(let epoch, let etag, let deadline, let lastRenewSent) = state else { return .none }
        if now >= deadline {
            state = .stopped(epoch: epoch)
            return .stopWrites(epoch: epoch)
        }
        return now - lastRenewSent >= timing.renewEveryMilliseconds ? .renew(epoch: epoch, etag: etag) : .none
    }

    /// A renewal wanted now (the record must change, e.g. its in-sync
    /// standby), unless the deadline has passed.
    public mutating func renewNow(now: Int64) -> Action {
        guard case .holding(let epoch, let etag, _, _) = state else { return .none }
        let action = tick(now: now)
        return action == .none ? .renew(epoch: epoch, etag: etag) : action
    }

    /// Released on purpose.
    public mutating func released() {
        if case .holding(let epoch, _, _, _) = state { state = .stopped(epoch: epoch) }
    }
}
