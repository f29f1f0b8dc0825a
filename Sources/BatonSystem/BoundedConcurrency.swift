/// Runs many independent store requests a few at a time: a restore or a
/// catch-up that reads thousands of small files one after another waits a
/// round trip for each (seconds to minutes on S3), while a bounded number
/// in flight keeps the store and the memory used in bounds.
public enum BoundedConcurrency {
    /// `transform` of every element, at most `width` at once; results in
    /// the order of `items`. The first error cancels the rest and is thrown.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], width: Int, _ transform: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        guard !items.isEmpty else { return [] }
        return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            while next < min(max(width, 1), items.count) {
                let index = next
                group.addTask { (index, try await transform(items[index])) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                // A cancelled caller (a node stepping down) starts no more requests.
                try Task.checkCancellation()
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await transform(items[index])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    /// Fetches `items` at most `width` at once and hands each result to
    /// `consume` in the order of `items`, one at a time in the caller's task
    /// (a restore downloads ahead while it applies files in order). On an
    /// error, results fetched but not consumed go to `discard` (temporary
    /// files removed), the rest is cancelled, and the error is thrown.
    public static func pipeline<Item: Sendable, Fetched: Sendable>(
        _ items: [Item], width: Int,
        fetch: @escaping @Sendable (Item) async throws -> Fetched,
        consume: (Int, Fetched) async throws -> Void,
        discard: @escaping @Sendable (Fetched) -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: (Int, Fetched).self) { group in
            var ready: [Int: Fetched] = [:]
            var next = 0
            do {
                for index in items.indices {
                    while next < items.count, next < index + max(width, 1) {
                        let item = items[next]
                        let position = next
                        group.addTask { (position, try await fetch(item)) }
                        next += 1
                    }
                    while ready[index] == nil {
                        guard let (position, fetched) = try await group.next() else {
                            preconditionFailure("the fetch of item \(index) was never started")
                        }
                        ready[position] = fetched
                    }
                    try await consume(index, ready.removeValue(forKey: index)!)
                }
            } catch {
                group.cancelAll()
                for fetched in ready.values { discard(fetched) }
                while let outcome = await group.nextResult() {
                    if case .success((_, let fetched)) = outcome { discard(fetched) }
                }
                throw error
            }
        }
    }
}
