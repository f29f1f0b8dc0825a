import BatonCore
import BatonReplication
import BatonSQLite
import BatonSystem
import Foundation

/// Whole-file operations on the node's own database while nothing else has it open.
enum LocalDatabase {
    /// Folds a leftover WAL into the database file (a holder that stopped or
    /// crashed leaves one) so the file alone is the state; SQLite deletes
    /// the WAL when this last connection closes.
    static func foldWAL(_ path: String) throws {
        guard FileSystem.exists(path), let wal = FileSystem.attributes(path + "-wal") else { return }
        let connection = try SQLiteConnection(path: path)
        do {
            // A connection that has not read the file yet does not know it is in WAL mode, and
            // its checkpoint silently does nothing (the chaos suite's corrupt copies: a holder's
            // leftover WAL stayed beside the file, which was then written page by page).
            _ = try connection.scalar("PRAGMA journal_mode")
            if wal.size > 0, !(try connection.checkpoint(.truncate)).completed {
                throw BatonError(.busy, "\(path): cannot fold its WAL into the file: another process has it open")
            }
        } catch {
            connection.close()
            throw error
        }
        connection.close()
        if let left = FileSystem.attributes(path + "-wal"), left.size > 0 {
            throw BatonError(.io, "\(path)-wal still holds \(left.size) bytes after folding it into the file")
        }
    }

    /// Creates an empty database in WAL mode when there is none (a brand-new cluster).
    static func createIfMissing(_ path: String) throws {
        guard !FileSystem.exists(path) else { return }
        try FileSystem.makeDirectories(FileSystem.parent(of: path))
        let connection = try SQLiteConnection(path: path, create: true)
        defer { connection.close() }
        try connection.execute("PRAGMA journal_mode=WAL")
    }

    /// Moves the database (and its WAL, if any) aside as `<db>.diverged-<epoch>-<time>`
    /// (`-2`, `-3`, … when that name is taken) and returns the new path.
    /// With `keep`, the oldest copies beyond the newest `keep` are removed
    /// afterwards (returned in `removed`); without it nothing is deleted.
    static func setAside(_ path: String, epoch: UInt64, keep: Int?) throws -> (aside: String, removed: [String])? {
        guard FileSystem.exists(path) else { return nil }
        let target = DivergedCopies.name(
            base: path, epoch: epoch, seconds: Int64(Date().timeIntervalSince1970), taken: FileSystem.exists)
        try FileSystem.rename(path, to: target)
        for suffix in ["-wal", "-shm"] where FileSystem.exists(path + suffix) {
            try FileSystem.rename(path + suffix, to: target + suffix)
        }
        return (target, try keep.map { try pruneDiverged(path, keep: $0) } ?? [])
    }

    /// Moves a replicator's folder of sealed files the store never confirmed
    /// to `aside` when it holds any; returns how many it held (0: nothing
    /// moved) and, with `keep`, the oldest such folders beside it removed
    /// beyond the newest `keep` (as for diverged copies). Only the move can
    /// fail it: a folder that cannot be removed (a chaos run once found one
    /// whose `uploaded/` subfolder the removal refused, and every promotion
    /// failed on it) is named in `failures` and left.
    static func setAsideUnconfirmed(_ pending: String, to aside: String, keep: Int?) throws
        -> (count: Int, removed: [String], failures: [String])
    {
        let sealed = try FileSystem.list(pending).filter { $0.hasSuffix(".ltx") && !$0.hasPrefix(".") }
        guard !sealed.isEmpty else { return (0, [], []) }
        try FileSystem.rename(pending, to: aside)
        guard let keep else { return (sealed.count, [], []) }
        let (removed, failures) = pruneUnconfirmed(beside: aside, keep: keep)
        return (sealed.count, removed, failures)
    }

    /// Removes the oldest `unconfirmed-*` folders beside `aside` beyond the
    /// newest `keep`; returns those removed and why others could not be.
    private static func pruneUnconfirmed(beside aside: String, keep: Int) -> (removed: [String], failures: [String]) {
        let folder = FileSystem.parent(of: aside)
        let names: [String]
        do {
            names = try FileSystem.list(folder)
        } catch {
            return ([], ["\(error)"])
        }
        let kept = names.filter { $0.hasPrefix("unconfirmed-") }.map { name in
            (name: name, modified: FileSystem.attributes(folder + "/" + name)?.modifiedNanoseconds ?? 0)
        }.sorted { ($0.modified, $0.name) < ($1.modified, $1.name) }
        var removed: [String] = []
        var failures: [String] = []
        for old in kept.dropLast(max(0, keep)) where folder + "/" + old.name != aside {
            do {
                try FileSystem.removeFolder(folder + "/" + old.name)
                removed.append(folder + "/" + old.name)
            } catch {
                failures.append("\(error)")
            }
        }
        return (removed, failures)
    }

    /// Removes the oldest copies of `path` kept aside beyond the newest
    /// `keep` (with their `-wal` and `-shm`); returns the paths removed.
    private static func pruneDiverged(_ path: String, keep: Int) throws -> [String] {
        let folder = FileSystem.parent(of: path)
        let base = String(path.dropFirst(folder.count + 1))
        var removed: [String] = []
        for copy in DivergedCopies.beyond(
            keep: keep, of: DivergedCopies.copies(of: base, among: try FileSystem.list(folder)))
        {
            let target = "\(folder)/\(copy.name)"
            for suffix in ["-wal", "-shm"] { try FileSystem.remove(target + suffix) }
            try FileSystem.remove(target)
            removed.append(target)
        }
        return removed
    }

    /// The checksum of the database file alone, with its page size (nil when there is no file).
    static func checksum(_ path: String) throws -> UInt64? {
        guard FileSystem.exists(path) else { return nil }
        let file = try LocalFile(path, .read)
        guard try file.size() > 0 else { return nil }
        return try DatabaseFileChecksum.compute(file)
    }
}
