import BatonCore
import BatonSystem
import Synchronization
import Testing

@Suite struct BoundedConcurrencyTests {
    /// Counts how many transforms run at once.
    final class Gauge: Sendable {
        private let state = Mutex((running: 0, most: 0))
        func enter() {
            state.withLock { state in
                state.running += 1
                state.most = max(state.most, state.running)
            }
        }
        func leave() { state.withLock { $0.running -= 1 } }
        var most: Int { state.withLock { $0.most } }
    }

    @Test func mapKeepsTheOrderAndNeverRunsMoreThanItsWidth() async throws {
        let gauge = Gauge()
        let items = Array(0..<40)
        let results = try await BoundedConcurrency.map(items, width: 5) { item in
            gauge.enter()
            defer { gauge.leave() }
            try await Task.sleep(nanoseconds: UInt64((item * 7919) % 5 + 1) * 1_000_000)
            return item * 2
        }
        #expect(results == items.map { $0 * 2 })
        #expect(gauge.most == 5)
    }

    @Test func aPipelineConsumesInOrderAndDiscardsWhatItFetchedWhenItFails() async throws {
        let discarded = Mutex<[Int]>([])
        var consumed: [Int] = []
        await #expect(throws: BatonError.self) {
            try await BoundedConcurrency.pipeline(
                Array(0..<10), width: 4,
                fetch: { item in
                    // Item 3 arrives after the three fetched ahead of it: consumption stays in order.
                    if item == 3 { try await Task.sleep(nanoseconds: 50_000_000) }
                    return item
                },
                consume: { index, fetched in
                    #expect(index == fetched)
                    if fetched == 3 { throw BatonError(.corrupt, "item 3 is bad") }
                    consumed.append(fetched)
                },
                discard: { fetched in discarded.withLock { $0.append(fetched) } })
        }
        #expect(consumed == [0, 1, 2])
        // Item 3 failed in `consume` (its own to clean up); the three fetched ahead are handed back,
        // nothing past the window was fetched.
        #expect(discarded.withLock { $0 }.sorted() == [4, 5, 6])
    }
}
