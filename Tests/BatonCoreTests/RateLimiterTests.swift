import Testing

@testable import BatonCore

@Suite struct RateLimiterTests {
    @Test func aClientGetsItsBurstThenItsRateAndOthersAreNotSlowed() {
        var limiter = RateLimiter(ratePerSecond: 10)
        for _ in 0..<10 { #expect(limiter.admit("a", nowMilliseconds: 0) == .admitted) }
        #expect(limiter.admit("a", nowMilliseconds: 0) == .refused(retryAfterMilliseconds: 100))
        #expect(limiter.admit("b", nowMilliseconds: 0) == .admitted)
        // A tenth of a second later, one more.
        #expect(limiter.admit("a", nowMilliseconds: 100) == .admitted)
        #expect(limiter.admit("a", nowMilliseconds: 120) == .refused(retryAfterMilliseconds: 80))
        // Idle for long: a full burst again, never more.
        for _ in 0..<10 { #expect(limiter.admit("a", nowMilliseconds: 60_000) == .admitted) }
        #expect(limiter.admit("a", nowMilliseconds: 60_000) != .admitted)
    }

    @Test func idleClientsAreForgottenWhenManyAreKnown() {
        var limiter = RateLimiter(ratePerSecond: 1, maxClients: 100)
        for client in 0..<100 { _ = limiter.admit("old-\(client)", nowMilliseconds: 0) }
        #expect(limiter.clients == 100)
        _ = limiter.admit("new", nowMilliseconds: 5_000)
        #expect(limiter.clients == 1)
    }
}
