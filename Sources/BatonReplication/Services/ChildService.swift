import BatonSystem
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// A child process (`replicate --exec`'s app) as a service: it ends when
/// the child exits, whatever its status (read it from `child`). The
/// group's graceful shutdown sends the child SIGTERM and waits for it to
/// exit; cancellation kills it.
public struct ChildService: Service {
    /// The child it waits for.
    public let child: ChildProcess

    /// A service waiting for `child`.
    public init(child: ChildProcess) { self.child = child }

    public func run() async throws {
        let child = self.child
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                _ = await child.exited()
            } onCancel: {
                child.signal(SIGKILL)
            }
        } onGracefulShutdown: {
            child.signal(SIGTERM)
        }
    }
}
