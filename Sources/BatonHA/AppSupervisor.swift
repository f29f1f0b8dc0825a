import BatonCore
import BatonNode
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the app (`/bin/sh -c COMMAND`) as a child in its own process group,
/// only while this node holds the baton. The child gets SIGKILL if the node
/// process dies (`setpriv --pdeathsig KILL`), so an app can never outlive
/// the node that fences it. Stopping sends SIGTERM to the group, then
/// SIGKILL after the grace period; fencing sends SIGKILL at once.
final class AppSupervisor: Sendable {
    private struct State {
        var pid: pid_t?
        var lastExit: Int32?
    }

    private let command: String
    private let environment: [String: String]
    private let state = Mutex(State())
    private let log: @Sendable (String) -> Void

    init(command: String, environment: [String: String], log: @escaping @Sendable (String) -> Void) {
        self.command = command
        self.environment = environment
        self.log = log
    }

    /// Starts the app with `extra` added to its environment.
    func start(extra: [String: String]) throws {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        for (key, value) in extra { merged[key] = value }
        let arguments = ["setpriv", "--pdeathsig", "KILL", "--", "/bin/sh", "-c", AppSupervisor.shellLine(command)]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, "setpriv", nil, &attributes, argv, envp)
        guard result == 0 else {
            throw BatonError(.io, "cannot start the app (\(command)): \(String(cString: strerror(result)))")
        }
        state.withLock {
            $0.pid = pid
        }
        log("started the app (pid \(pid)): \(command)")
    }

    /// Whether the app runs (reaps it if it exited).
    var isRunning: Bool {
        state.withLock { state in
            guard let pid = state.pid else { return false }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) {
                state.pid = nil
                state.lastExit = result == pid ? AppSupervisor.exitCode(status) : -1
                return false
            }
            return true
        }
    }

    /// The exit status of the last run (128 + signal when killed), once it ended.
    var lastExit: Int32? { state.withLock { $0.lastExit } }

    /// The running app's pid.
    var pid: pid_t? { state.withLock { $0.pid } }

    /// Asks the app to stop (SIGTERM to its group) and waits up to
    /// `graceMilliseconds`, then kills it.
    func stop(graceMilliseconds: Int64) async {
        guard let pid = pid, isRunning else { return }
        Glibc.kill(-pid, SIGTERM)
        let deadline = MonotonicClock.now() + graceMilliseconds
        while isRunning, MonotonicClock.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if isRunning {
            log("the app did not stop within \(DurationText.format(graceMilliseconds)); killing it")
            Glibc.kill(-pid, SIGKILL)
            await reap(pid)
        } else {
            log("the app stopped (status \(lastExit ?? 0))")
        }
    }

    /// Kills the app's whole group at once (fencing) and waits for it.
    func kill() async {
        guard let pid = pid, isRunning else { return }
        Glibc.kill(-pid, SIGKILL)
        await reap(pid)
        log("killed the app (pid \(pid))")
    }

    private func reap(_ pid: pid_t) async {
        for _ in 0..<500 where isRunning { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    /// A simple command replaces the shell (`exec`), so the parent-death
    /// signal reaches the app itself; a compound one (`cd /srv && ./server`)
    /// runs as written and should end in `exec` for the same guarantee.
    static func shellLine(_ command: String) -> String {
        let compound = command.contains { "&;|()<>`\n".contains($0) }
        return compound ? command : "exec " + command
    }

    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
