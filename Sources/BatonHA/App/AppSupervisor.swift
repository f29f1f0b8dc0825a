import BatonCore
import BatonReplication
import BatonSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the app (`/bin/sh -c COMMAND`) as a child in its own process group,
/// only while this node holds the baton. The child gets SIGKILL if the node
/// process dies (the parent-death signal), so an app can never outlive the
/// node that fences it. Stopping sends SIGTERM to the group, then SIGKILL
/// after the grace period; fencing sends SIGKILL at once.
final class AppSupervisor: Sendable {
    private let command: String
    private let environment: [String: String]
    private let child = Mutex<ChildProcess?>(nil)
    /// The process the last `kill` was for (several parts of the node may fence at once; one line says so).
    private let killed = Mutex<ObjectIdentifier?>(nil)
    private let log: @Sendable (String) -> Void

    init(command: String, environment: [String: String], log: @escaping @Sendable (String) -> Void) {
        self.command = command
        self.environment = environment
        self.log = log
    }

    /// Starts the app with `extra` added to its environment.
    func start(extra: [String: String]) throws {
        var merged = environment
        for (key, value) in extra { merged[key] = value }
        let process: ChildProcess
        do {
            process = try ChildProcess(
                arguments: ["/bin/sh", "-c", AppSupervisor.shellLine(command)], environment: merged,
                options: .init(ownProcessGroup: true, dieWithParent: true))
        } catch let error as BatonError {
            throw BatonError(error.code, "cannot start the app (\(command)): \(error.message)")
        }
        child.withLock { $0 = process }
        log("started the app (pid \(process.pid)): \(command)")
    }

    /// Whether the app runs.
    var isRunning: Bool { child.withLock { $0 }?.isRunning ?? false }

    /// The exit status of the last run (128 + signal when killed), once it ended.
    var lastExit: Int32? { child.withLock { $0 }?.exitStatus }

    /// The running app's pid.
    var pid: pid_t? {
        guard let process = child.withLock({ $0 }), process.isRunning else { return nil }
        return process.pid
    }

    /// Asks the app to stop (SIGTERM to its group) and waits up to
    /// `graceMilliseconds`, then kills it.
    func stop(graceMilliseconds: Int64) async {
        guard let process = child.withLock({ $0 }), process.isRunning else { return }
        process.signal(SIGTERM)
        if let status = await process.exited(timeoutMilliseconds: graceMilliseconds) {
            log("the app stopped (status \(status))")
            return
        }
        log("the app did not stop within \(DurationText.format(graceMilliseconds)); killing it")
        process.signal(SIGKILL)
        _ = await process.exited()
    }

    /// Kills the app's whole group at once (fencing) and waits for it.
    func kill() async {
        guard let process = child.withLock({ $0 }), process.isRunning else { return }
        let first = killed.withLock { killed in
            defer { killed = ObjectIdentifier(process) }
            return killed != ObjectIdentifier(process)
        }
        process.signal(SIGKILL)
        _ = await process.exited()
        if first { log("killed the app (pid \(process.pid))") }
    }

    /// A simple command replaces the shell (`exec`), so the parent-death
    /// signal reaches the app itself; a compound one (`cd /srv && ./server`)
    /// runs as written and should end in `exec` for the same guarantee.
    static func shellLine(_ command: String) -> String {
        let compound = command.contains { "&;|()<>`\n".contains($0) }
        return compound ? command : "exec " + command
    }
}
