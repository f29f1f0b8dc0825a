/// The time every deadline of a node is measured in, and a way to sleep
/// until one: milliseconds on a monotonic clock. The node and everything it
/// runs take one clock, so tests can drive the whole node with a
/// `ManualClock` instead of sleeping.
public protocol BatonClock: Sendable {
    /// Milliseconds since an arbitrary start; never goes backwards.
    func now() -> Int64

    /// Returns once `now() >= deadline`; throws `CancellationError` when
    /// the task is cancelled first.
    func sleep(until deadline: Int64) async throws
}

extension BatonClock {
    /// Sleeps for `milliseconds` from now.
    public func sleep(milliseconds: Int64) async throws {
        try await sleep(until: now() + max(milliseconds, 0))
    }
}

/// The machine's monotonic clock (`CLOCK_MONOTONIC`).
public struct SystemClock: BatonClock {
    /// The system clock.
    public init() {}

    public func now() -> Int64 { MonotonicClock.now() }

    public func sleep(until deadline: Int64) async throws {
        let left = deadline - MonotonicClock.now()
        if left > 0 { try await Task.sleep(nanoseconds: UInt64(left) * 1_000_000) }
        try Task.checkCancellation()
    }
}
