import BatonCore
import BatonSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Looks at the byte-range locks other processes hold on a database's
/// `-shm` file, without taking any: SQLite's WAL write lock is byte 120 and
/// its checkpoint lock byte 121 (the unix VFS's WAL locking scheme).
///
/// The descriptor stays open for the probe's lifetime: closing any
/// descriptor of a file drops every POSIX lock this process holds on it,
/// including the ones SQLite's own connections hold. Close the probe only
/// after those connections.
public final class WALLockProbe: @unchecked Sendable {
    private static let writeLockByte: Int64 = 120
    private static let checkpointLockByte: Int64 = 121
    private let file: LocalFile

    /// Opens the `-shm` file of `databasePath` (it must exist: a WAL-mode
    /// database with an open connection).
    public init(databasePath: String) throws {
        file = try LocalFile(databasePath + "-shm", .read)
    }

    private func isLockedByAnotherProcess(_ byte: Int64) -> Bool {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(byte)
        lock.l_len = 1
        guard fcntl(file.descriptor, F_GETLK, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// True when another process holds both the write lock and the checkpoint
    /// lock: it is running a FULL, RESTART or TRUNCATE checkpoint, which may be
    /// waiting for this process's readers.
    public var isBlockingCheckpointInProgress: Bool {
        isLockedByAnotherProcess(WALLockProbe.checkpointLockByte)
            && isLockedByAnotherProcess(WALLockProbe.writeLockByte)
    }

    /// True when another process holds the checkpoint lock.
    public var isCheckpointInProgress: Bool { isLockedByAnotherProcess(WALLockProbe.checkpointLockByte) }
}
