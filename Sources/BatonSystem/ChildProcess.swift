import BatonCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The one way Baton starts another program (the node's app, `replicate
/// --exec`, `lock`'s job): `posix_spawn` with a clean signal mask and
/// default signal handlers, optionally in a process group of its own and
/// killed when Baton dies (the parent-death signal, through `setpriv`), so
/// a child can never outlive the process that fences it. A thread waits
/// for the child (`waitpid`), so its exit is signalled, never polled for.
public final class ChildProcess: Sendable {
    /// How the child is started.
    public struct Options: Sendable {
        /// Its own process group: `signal` and `kill` reach everything it started.
        public var ownProcessGroup = false
        /// SIGKILL when this process dies (Linux parent-death signal).
        public var dieWithParent = true
        /// Standard output and error appended to this file (nil: shared with this process).
        public var outputFile: String?

        /// The defaults: the caller's process group and output, killed with the caller.
        public init(ownProcessGroup: Bool = false, dieWithParent: Bool = true, outputFile: String? = nil) {
            self.ownProcessGroup = ownProcessGroup
            self.dieWithParent = dieWithParent
            self.outputFile = outputFile
        }
    }

    private struct State {
        var exitStatus: Int32?
        var waiters: [UInt64: CheckedContinuation<Int32?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var onExit: [@Sendable (Int32) -> Void] = []
    }

    /// Its process id.
    public let pid: pid_t
    private let ownProcessGroup: Bool
    private let state = Mutex(State())

    /// Starts `arguments` (looked up in `PATH`) with `environment` added to
    /// this process's environment; throws `io` naming the program when it cannot start.
    public init(arguments: [String], environment: [String: String] = [:], options: Options = .init()) throws {
        precondition(!arguments.isEmpty, "a command line has a program")
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = options.dieWithParent ? ["setpriv", "--pdeathsig", "KILL", "--"] + arguments : arguments
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if options.ownProcessGroup { flags |= POSIX_SPAWN_SETPGROUP }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        posix_spawnattr_setpgroup(&attributes, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let outputFile = options.outputFile {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw BatonError(.io, "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        ownProcessGroup = options.ownProcessGroup
        let watcher = Thread { [self] in self.waitForChild() }
        watcher.name = "baton-child-\(pid)"
        watcher.start()
    }

    /// Whether it still runs.
    public var isRunning: Bool { state.withLock { $0.exitStatus == nil } }

    /// Its exit status once it ended (128 + the signal when a signal ended it).
    public var exitStatus: Int32? { state.withLock { $0.exitStatus } }

    /// Sends `signal` to it (to its whole group when it has its own) while it runs.
    public func signal(_ signal: Int32) {
        // The lock keeps the pid from being reaped (and reused) while the signal is sent.
        state.withLock { state in
            guard state.exitStatus == nil else { return }
            _ = Glibc.kill(ownProcessGroup ? -pid : pid, signal)
        }
    }

    /// Calls `body` with the exit status once it exits (at once if it has).
    public func onExit(_ body: @escaping @Sendable (Int32) -> Void) {
        let ended = state.withLock { state -> Int32? in
            if state.exitStatus == nil { state.onExit.append(body) }
            return state.exitStatus
        }
        if let ended { body(ended) }
    }

    /// Its exit status, waiting up to `timeoutMilliseconds` (nil: as long
    /// as it runs); nil when it still runs at the deadline.
    public func exited(timeoutMilliseconds: Int64? = nil) async -> Int32? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> Int32?? in
                if let status = state.exitStatus { return .some(status) }
                state.waiters[id] = continuation
                return .none
            }
            if let ended {
                continuation.resume(returning: ended)
                return
            }
            // Armed only once the waiter is registered, so a deadline can never be missed.
            guard let timeoutMilliseconds else { return }
            Task { [self] in
                try? await Task.sleep(nanoseconds: UInt64(max(timeoutMilliseconds, 0)) * 1_000_000)
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
            }
        }
    }

    /// Blocks the watcher thread until the child exits, then tells everyone
    /// waiting. It waits without reaping first and reaps under the lock, so
    /// `signal` never reaches another process that reused the pid.
    private func waitForChild() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
        let (code, waiters, handlers) = state.withLock { state in
            var status: Int32 = 0
            let result = waitpid(pid, &status, 0)
            let code = result == pid ? ChildProcess.exitCode(status) : -1
            state.exitStatus = code
            defer {
                state.waiters.removeAll()
                state.onExit.removeAll()
            }
            return (code, Array(state.waiters.values), state.onExit)
        }
        for waiter in waiters { waiter.resume(returning: code) }
        for handler in handlers { handler(code) }
    }

    /// A `waitpid` status as a shell reports it: the exit code, or 128 + the signal.
    public static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
