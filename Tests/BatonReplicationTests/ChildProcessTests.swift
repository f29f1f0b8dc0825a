import BatonSystem
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The one launcher every child of Baton goes through: exit statuses as a
/// shell reports them, deadlines that end a wait, signals to the group.
@Suite struct ChildProcessTests {
    @Test func anExitStatusIsReportedToWaitersAndHandlers() async throws {
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", "exit 3"])
        let seen = Mutex<Int32?>(nil)
        let status = await child.exited()
        child.onExit { code in seen.withLock { $0 = code } }
        #expect(status == 3)
        #expect(seen.withLock { $0 } == 3)
        #expect(!child.isRunning)
    }

    @Test func aDeadlineEndsTheWaitAndAKillEndsTheChild() async throws {
        let child = try ChildProcess(
            arguments: ["/bin/sh", "-c", "sleep 30 & wait"], options: .init(ownProcessGroup: true))
        #expect(await child.exited(timeoutMilliseconds: 50) == nil)
        #expect(child.isRunning)
        child.signal(SIGKILL)  // the whole group: the shell and its sleep
        #expect(await child.exited(timeoutMilliseconds: 10_000) == 128 + SIGKILL)
        child.signal(SIGKILL)  // after the exit: nothing is sent, to no one
    }

    @Test func aProgramThatDoesNotExistIsNamed() {
        do {
            _ = try ChildProcess(arguments: ["/nonexistent/program"], options: .init(dieWithParent: false))
            Issue.record("a missing program started")
        } catch {
            #expect("\(error)".contains("/nonexistent/program"))
        }
    }
}
