import NIOPosix

/// Runs blocking file and SQLite work (fsyncs, reads and writes of database
/// and store files, SQLite statements) on threads of its own instead of on
/// Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two on a small machine);
/// it also renews the lease and watches its fencing deadline. A driver or a
/// store blocked in an fsync there delays those tasks by as long as the
/// disk takes, which under load is what makes a healthy holder fence
/// itself. The pool here has many more threads than cores on purpose: its
/// threads mostly wait for the disk or a lock, and a lease renewal on a
/// `file://` store must not queue behind every shipper's fsync and every
/// write waiting out another process's lock (an idle thread costs only its
/// stack's address space).
public enum BlockingWork {
    /// Threads for blocking work (they mostly wait for the disk).
    public static let threadCount = 64

    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// Runs `body` on a blocking-work thread and returns its result. Not
    /// cancellable once started: `body` runs to its end.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Runs `body`, which uses objects that are not thread-safe, on a
    /// blocking-work thread. The caller guarantees that nothing else uses
    /// them until this returns (it awaits `body`, as a driver that owns
    /// its replicators does), so they still have one user at a time.
    public static func runExclusive<T>(_ body: @escaping () throws -> T) async throws -> T {
        let work = UncheckedBox(body)
        return try await run { UncheckedBox(try work.value()) }.value
    }
}
