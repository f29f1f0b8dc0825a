import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into a flag the run loop polls, and optionally
/// forwards them to a child process.
final class StopSignal: @unchecked Sendable {
    private let stopped = Atomic<Bool>(false)
    private var sources: [DispatchSourceSignal] = []

    /// Installs the handlers; `forward` is called with each signal received.
    init(forward: @escaping @Sendable (Int32) -> Void = { _ in }) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                stopped.store(true, ordering: .sequentiallyConsistent)
                forward(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal arrived (or `stop()` was called).
    var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    /// Asks the run loop to stop.
    func stop() { stopped.store(true, ordering: .sequentiallyConsistent) }
}

/// An error whose text is printed as is.
struct ValidationErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
