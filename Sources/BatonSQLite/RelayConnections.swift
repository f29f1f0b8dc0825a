import BatonCore
import BatonSystem
import Synchronization

/// The holder's relay connections, kept open between requests: a request
/// takes an idle connection to its database (or opens one), runs its
/// statements, and gives it back, so a single-row write costs no open, no
/// schema read and (with `StatementCache`) no prepare. Reads run in
/// parallel on connections of their own; writes too, serialized by
/// SQLite's write lock and the busy timeout as before.
///
/// Only while open: a node closes them when it stops holding (`close`),
/// before its database file becomes a standby copy written page by page,
/// which a connection left open would read stale and, closing last,
/// checkpoint into. `run` refuses while closed. Blocking: call `run` off
/// the event loops.
public final class RelayConnections: Sendable {
    /// Idle connections kept per database and mode.
    public static let idlePerDatabase = 4

    private struct Key: Hashable {
        var path: String
        var readOnly: Bool
    }

    private struct State {
        var open = false
        var idle: [Key: [UncheckedBox<StatementRunner>]] = [:]
        var inUse: [ObjectIdentifier: UncheckedBox<StatementRunner>] = [:]
        var opened = 0
    }

    private let state = Mutex(State())
    private let busyTimeoutMilliseconds: Int32
    private let mayCommit: @Sendable () -> Bool
    /// Signalled whenever a connection comes back from a request.
    private let returned: ChangeSignal
    private let clock: any BatonClock

    /// Connections with `busyTimeoutMilliseconds` whose commits ask
    /// `mayCommit`; `close` waits on `clock`.
    public init(
        busyTimeoutMilliseconds: Int32, clock: any BatonClock = SystemClock(),
        mayCommit: @escaping @Sendable () -> Bool
    ) {
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.mayCommit = mayCommit
        self.clock = clock
        returned = ChangeSignal(clock: clock)
    }

    /// Lets requests run (the node holds the baton).
    public func open() { state.withLock { $0.open = true } }

    /// Whether requests may run.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// How many connections were opened so far (reuse shows as fewer opens than requests).
    public var openedCount: Int { state.withLock { $0.opened } }

    /// Runs `body` on a connection to `path`; throws when closed or when
    /// the database cannot be opened. Returns what `body` returns and
    /// whether a write committed meanwhile.
    public func run<T>(path: String, readOnly: Bool, _ body: (StatementRunner) throws -> T) throws -> (
        result: T, changed: Bool
    ) {
        let key = Key(path: path, readOnly: readOnly)
        let reused = try state.withLock { state -> UncheckedBox<StatementRunner>? in
            guard state.open else { throw Closed() }
            guard let runner = state.idle[key]?.popLast() else { return nil }
            state.inUse[ObjectIdentifier(runner.value)] = runner
            return runner
        }
        let runner: UncheckedBox<StatementRunner>
        if let reused {
            runner = reused
        } else {
            runner = UncheckedBox(
                try StatementRunner(
                    path: path, readOnly: readOnly, busyTimeoutMilliseconds: busyTimeoutMilliseconds,
                    mayCommit: mayCommit))
            let admitted = state.withLock { state -> Bool in
                guard state.open else { return false }
                state.inUse[ObjectIdentifier(runner.value)] = runner
                state.opened += 1
                return true
            }
            guard admitted else {
                runner.value.close()
                throw Closed()
            }
        }
        let before = runner.value.commits
        let outcome: T
        do {
            outcome = try body(runner.value)
        } catch {
            giveBack(runner, key)
            throw error
        }
        let changed = runner.value.commits > before
        giveBack(runner, key)
        return (outcome, changed)
    }

    /// Stops new requests, interrupts the running ones, waits (at most
    /// `timeoutMilliseconds`) until they are back, and closes every
    /// connection. Returns how many were still running at the timeout
    /// (each closes when its request ends).
    @discardableResult
    public func close(timeoutMilliseconds: Int64 = 5000) async -> Int {
        state.withLock { $0.open = false }
        let deadline = clock.now() + timeoutMilliseconds
        while true {
            let seen = returned.version
            let running = state.withLock { Array($0.inUse.values) }
            guard !running.isEmpty, clock.now() < deadline, !Task.isCancelled else { break }
            // Again each round: SQLite ignores an interrupt that comes before a statement started.
            for runner in running { runner.value.interrupt() }
            await returned.wait(from: seen, until: min(deadline, clock.now() + 50))
        }
        let (idle, left) = state.withLock { state -> ([UncheckedBox<StatementRunner>], Int) in
            let idle = state.idle.values.flatMap { $0 }
            state.idle.removeAll()
            return (idle, state.inUse.count)
        }
        for runner in idle { runner.value.close() }
        return left
    }

    /// Returns a connection after a request: kept idle while open and
    /// below the limit, else closed.
    private func giveBack(_ runner: UncheckedBox<StatementRunner>, _ key: Key) {
        let keep = state.withLock { state -> Bool in
            state.inUse.removeValue(forKey: ObjectIdentifier(runner.value))
            guard state.open, state.idle[key, default: []].count < RelayConnections.idlePerDatabase else {
                return false
            }
            state.idle[key, default: []].append(runner)
            return true
        }
        if !keep { runner.value.close() }
        returned.signal()
    }

    /// What `run` throws while closed: the statements ran nowhere.
    public struct Closed: Error, CustomStringConvertible {
        public var description: String {
            "this node does not hold the baton now (its relay connections are closed); nothing ran"
        }
    }
}
