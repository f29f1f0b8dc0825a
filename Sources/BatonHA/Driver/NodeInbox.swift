import BatonCore
import BatonReplication
import BatonSystem
import Synchronization

/// Commands for the driver from the API, the proxy, the relay, the stream
/// followers and the signal handler: the one way anything outside the
/// driver changes what the node does. Sending wakes the driver.
final class NodeInbox: Sendable {
    /// What the driver is asked to do.
    enum Command: Sendable {
        /// Hand the baton over (to a peer, or the first caught-up one); the outcome goes to `reply`.
        case handoff(to: String?, reply: Reply<Result<Node.HandoffReport, BatonError>>)
        /// The holder offers us the baton (it released the lease).
        case takeover
        /// Stop (SIGTERM): a holder hands over first.
        case shutdown
        /// A write waits for the store: seal and upload now instead of after the batch window.
        case flush
        /// A stream answered from this epoch (a standby learns the newest epoch).
        case epochSeen(UInt64)
    }

    private struct State {
        var commands: [Command] = []
        /// Set from the moment a takeover is offered until the driver has published its answer.
        var takeoverPending = false
    }

    private let state = Mutex(State())
    private let wake: ChangeSignal

    /// An inbox that wakes the driver through `wake`.
    init(wake: ChangeSignal) { self.wake = wake }

    /// Queues `command` and wakes the driver.
    func send(_ command: Command) {
        state.withLock { state in
            if case .takeover = command { state.takeoverPending = true }
            state.commands.append(command)
        }
        wake.signal()
    }

    /// Everything queued so far, oldest first (for the driver).
    func drain() -> [Command] {
        state.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    /// Whether a takeover offer waits for the driver: the proxy holds requests
    /// meanwhile, instead of sending them back to the old holder.
    var takeoverPending: Bool { state.withLock { $0.takeoverPending } }

    /// The driver has published what it did with the takeover offers drained
    /// so far (one sent meanwhile, still queued, keeps traffic held).
    /// Returns whether the flag changed.
    @discardableResult
    func takeoverHandled() -> Bool {
        state.withLock { state in
            let was = state.takeoverPending
            state.takeoverPending = state.commands.contains {
                if case .takeover = $0 { return true }
                return false
            }
            return was != state.takeoverPending
        }
    }
}

/// A one-time answer one task waits for and another gives.
final class Reply<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let given: ChangeSignal
    private let clock: any BatonClock

    /// A reply whose wait times out on `clock`.
    init(clock: any BatonClock) {
        self.clock = clock
        given = ChangeSignal(clock: clock)
    }

    /// Gives the answer (only the first counts).
    func send(_ answer: Value) {
        let first = value.withLock { value -> Bool in
            guard value == nil else { return false }
            value = answer
            return true
        }
        if first { given.signal() }
    }

    /// The answer, if it came.
    var answer: Value? { value.withLock { $0 } }

    /// The answer, waiting up to `timeoutMilliseconds`; nil if none came.
    func wait(timeoutMilliseconds: Int64) async -> Value? {
        let deadline = clock.now() + timeoutMilliseconds
        while true {
            let seen = given.version
            if let answer = value.withLock({ $0 }) { return answer }
            let left = deadline - clock.now()
            guard left > 0 else { return nil }
            await given.wait(from: seen, timeoutMilliseconds: left)
        }
    }
}
