/// When and how long to wait before retrying a store request: exponential
/// backoff with full jitter, for server errors, throttling and transport
/// failures only; other client errors are final.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts = 6
    /// Backoff before the first retry, in milliseconds (doubles each time).
    public var baseDelayMilliseconds = 100
    /// Longest backoff, in milliseconds.
    public var maxDelayMilliseconds = 5000

    /// The default policy.
    public init() {}

    /// Whether an HTTP status is worth retrying: 5xx and 429 (throttling).
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status)
    }

    /// The delay before retry number `retry` (1-based), given a random value in [0, 1).
    public func delayMilliseconds(retry: Int, random: Double) -> Int {
        let ceiling = min(maxDelayMilliseconds, baseDelayMilliseconds << min(retry - 1, 20))
        return Int(Double(ceiling) * random)
    }
}
