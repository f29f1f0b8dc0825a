/// A token bucket per client: each may make `ratePerSecond` requests a
/// second on average and `burst` at once; a refused request learns when
/// the next one would be admitted. Time comes in as an argument. Idle
/// clients' buckets are forgotten once more than `maxClients` are known
/// (a full bucket is the same as none).
public struct RateLimiter: Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    public let maxClients: Int
    private var buckets: [String: Bucket] = [:]

    private struct Bucket: Sendable {
        var tokens: Double
        var updatedMilliseconds: Int64
    }

    /// What `admit` decided.
    public enum Decision: Equatable, Sendable {
        case admitted
        /// Refused: try again after this many milliseconds.
        case refused(retryAfterMilliseconds: Int64)
    }

    /// A limiter; `burst` defaults to one second's worth.
    public init(ratePerSecond: Double, burst: Double? = nil, maxClients: Int = 10_000) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst ?? ratePerSecond)
        self.maxClients = maxClients
    }

    /// Takes one token from `client`'s bucket at `nowMilliseconds`, or refuses.
    public mutating func admit(_ client: String, nowMilliseconds: Int64) -> Decision {
        var bucket = buckets[client] ?? Bucket(tokens: burst, updatedMilliseconds: nowMilliseconds)
        let elapsed = Double(max(0, nowMilliseconds - bucket.updatedMilliseconds)) / 1000
        bucket.tokens = min(burst, bucket.tokens + elapsed * ratePerSecond)
        bucket.updatedMilliseconds = nowMilliseconds
        let decision: Decision
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            decision = .admitted
        } else {
            decision = .refused(
                retryAfterMilliseconds: Int64(((1 - bucket.tokens) / ratePerSecond * 1000).rounded(.up)))
        }
        buckets[client] = bucket
        if buckets.count > maxClients { forgetIdle(nowMilliseconds: nowMilliseconds) }
        return decision
    }

    /// How many clients are remembered.
    public var clients: Int { buckets.count }

    /// Drops the buckets that have filled up again (their clients are idle).
    private mutating func forgetIdle(nowMilliseconds: Int64) {
        let refill = burst / ratePerSecond * 1000
        buckets = buckets.filter { _, bucket in
            Double(nowMilliseconds - bucket.updatedMilliseconds) < refill
        }
    }
}
