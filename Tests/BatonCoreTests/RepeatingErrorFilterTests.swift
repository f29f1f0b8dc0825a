import BatonCore
import Testing

/// A repeating error is logged once, then once per interval with a count, and its end once.
@Suite struct RepeatingErrorFilterTests {
    @Test func anUnchangedErrorIsLoggedOncePerInterval() {
        var filter = RepeatingErrorFilter(everyMilliseconds: 10_000)
        var lines: [String] = []
        func fail(_ message: String, _ now: Int64) {
            if let line = filter.failed(message, now: now) { lines.append(line) }
        }
        fail("disk full", 0)
        for now in stride(from: Int64(5), to: 10_000, by: 5) { fail("disk full", now) }
        #expect(lines == ["disk full"])
        fail("disk full", 10_000)
        fail("disk full", 10_001)
        #expect(lines == ["disk full", "disk full (2000 times in the last 10s)"])
        // Another error is news at once.
        fail("permission denied", 10_002)
        #expect(lines.last == "permission denied")
        let ended = filter.succeeded()
        let endedAgain = filter.succeeded()
        #expect(ended && !endedAgain)
        fail("disk full", 10_003)
        #expect(lines.last == "disk full")
    }
}
