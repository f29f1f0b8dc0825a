import BatonCore

/// Bounds an operation in time by cancelling it: for work whose own
/// timeouts do not cover all of it (an HTTP response's body arrives after
/// the client's deadline for its head has passed).
public enum Deadline {
    /// `within` ran out of time (the operation was cancelled).
    public struct Exceeded: Error, CustomStringConvertible {
        /// The bound that passed.
        public var milliseconds: Int64
        /// For messages.
        public var description: String { "not done within \(DurationText.format(milliseconds))" }
    }

    /// Runs `operation`, cancelling it and throwing `Exceeded` once
    /// `milliseconds` have passed (monotonic). A cancellation of the caller
    /// cancels the operation too.
    public static func within<T: Sendable>(
        milliseconds: Int64, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(milliseconds, 0)) * 1_000_000)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw Exceeded(milliseconds: milliseconds)
            }
            return result
        }
    }
}
