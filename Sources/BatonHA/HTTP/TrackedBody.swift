import NIOCore
import Synchronization

/// A request body passed through to the upstream that remembers whether
/// the upstream started reading it: until then a failed attempt can be
/// retried elsewhere without losing or repeating any of the body.
struct TrackedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    /// Shared flag: set on the first read.
    final class Flag: Sendable {
        let started = Atomic<Bool>(false)
    }

    let base: Base
    let flag: Flag

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let flag: Flag

        mutating func next() async throws -> ByteBuffer? {
            flag.started.store(true, ordering: .relaxed)
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), flag: flag)
    }
}
