import BatonSystem
import Synchronization

/// Requests running against the holder's app (through the proxy) or its
/// database (the relay), and the gate a hand-over closes: a request enters
/// only while the gate is open, atomically with being counted, so once the
/// hand-over has closed the gate and seen the count reach zero nothing can
/// commit after its last transaction.
final class LocalRequests: Sendable {
    private struct State {
        var open = false
        var count = 0
    }

    private let state = Mutex(State())
    private let idle: ChangeSignal

    /// Requests that signal `idle` when the last one leaves.
    init(idle: ChangeSignal) { self.idle = idle }

    /// Counts a request in; false (not counted) while the gate is closed.
    func enter() -> Bool {
        state.withLock { state in
            guard state.open else { return false }
            state.count += 1
            return true
        }
    }

    /// A counted request finished.
    func leave() {
        let last = state.withLock { state -> Bool in
            state.count -= 1
            return state.count == 0
        }
        if last { idle.signal() }
    }

    /// Opens or closes the gate (the driver: open while holding and not handing over).
    func setOpen(_ open: Bool) { state.withLock { $0.open = open } }

    /// How many run now.
    var count: Int { state.withLock { $0.count } }
}
