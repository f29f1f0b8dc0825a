import BatonCore
import BatonSystem

/// The database checksum (as LTX files carry it) of a quiescent database file.
public enum DatabaseFileChecksum {
    /// Reads every page of `file` (no WAL, nobody writing).
    public static func compute(_ file: LocalFile) throws -> UInt64 {
        let pageSize = try DatabaseFileScanner.pageSize(of: file)
        return try DatabaseFileScanner.scan(file, pageSize: pageSize) { _, _, _ in }.databaseChecksum
    }
}
