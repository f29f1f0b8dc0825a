import BatonCore
import BatonSQLite
import BatonStore
import BatonSystem

/// Rebuilds a database from a replica: plans the files, applies them into a
/// temporary file while verifying every file checksum and every pre- and
/// post-apply database checksum, fsyncs, checks the result with SQLite, and
/// only then renames it into place.
public struct Restorer {
    let store: any ObjectStore

    /// Files downloaded ahead of the one being applied.
    static let downloadsInFlight = 8

    /// A restorer reading from `store`.
    public init(store: any ObjectStore) { self.store = store }

    /// Restores `target` to `output`. An existing output is replaced only
    /// with `force`. `progress` gets (files done, files total, bytes read).
    /// `epochStarts` fences files a live holder's epoch supersedes before it
    /// has written any (epoch → its first TXID).
    public func restore(
        to output: String, target: RestorePlan.Target, integrity: IntegrityCheck, force: Bool,
        epochStarts: [UInt64: UInt64] = [:],
        progress: (Int, Int, Int64) -> Void = { _, _, _ in }
    ) async throws -> RestoreResult {
        if !force {
            for path in [output, output + "-wal"] where FileSystem.exists(path) {
                throw BatonError(.alreadyExists, "\(path) already exists; pass --force to replace it")
            }
        }
        let started = MonotonicClock.now()
        let (plan, wholeListingReason) = try await self.plan(target, epochStarts: epochStarts)
        let listed = MonotonicClock.now()

        let directory = FileSystem.parent(of: output)
        try FileSystem.makeDirectories(directory)
        let temporary = FileSystem.temporaryPath(next: output)
        do {
            var result = try await apply(plan, into: temporary, progress: progress)
            let applied = MonotonicClock.now()
            try await BlockingWork.run { try Restorer.check(temporary, integrity) }
            for suffix in ["-wal", "-shm"] { try FileSystem.remove(output + suffix) }
            try FileSystem.rename(temporary, to: output)
            result.timings = .init(
                catalogMilliseconds: listed - started, applyMilliseconds: applied - listed,
                checkMilliseconds: MonotonicClock.now() - applied, wholeListingReason: wholeListingReason)
            return result
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
    }

    /// The files to apply, and why the whole replica was listed when it was.
    /// Headers give timestamps and the writers' epochs (fencing deposed
    /// holders' files). The newest state is planned from a partial listing
    /// when the replica allows it, and from the whole one when that plan fails.
    private func plan(_ target: RestorePlan.Target, epochStarts: [UInt64: UInt64]) async throws
        -> (plan: RestorePlan, wholeListingReason: String?)
    {
        do {
            let markers = try await EpochMarkers.load(from: store)
            guard target == .latest else {
                let whole = try await ReplicaCatalog.whole(in: store, epochStarts: markers)
                let starts = epochStarts.merging(markers, uniquingKeysWith: min)
                return (try RestorePlan.make(files: whole.files, target: target, epochStarts: starts), nil)
            }
            let newest = try await ReplicaCatalog.newest(in: store, markers: markers)
            // The markers read again when a new epoch's file was listed after them.
            let starts = epochStarts.merging(newest.epochStarts, uniquingKeysWith: min)
            if newest.listedWhole {
                return (
                    try RestorePlan.make(files: newest.files, target: target, epochStarts: starts),
                    newest.wholeListingReason
                )
            }
            do {
                return (try RestorePlan.make(files: newest.files, target: target, epochStarts: starts), nil)
            } catch let refusal as BatonError {
                let whole = try await ReplicaCatalog.whole(in: store, epochStarts: newest.epochStarts)
                return (
                    try RestorePlan.make(files: whole.files, target: target, epochStarts: starts),
                    "the newest files alone: \(refusal.message)"
                )
            }
        } catch let error as BatonError {
            throw BatonError(error.code, "\(store.displayURL): \(error.message)")
        }
    }

    private func apply(_ plan: RestorePlan, into path: String, progress: (Int, Int, Int64) -> Void) async throws
        -> RestoreResult
    {
        let output = RestoreOutput(file: try LocalFile(path, .createNew))
        var bytesRead: Int64 = 0
        let scratch = FileSystem.parent(of: path)
        let store = self.store
        // Downloads run ahead of the applies (a round trip per file adds up over thousands of files).
        try await BoundedConcurrency.pipeline(
            plan.files, width: Restorer.downloadsInFlight,
            fetch: { info in try await store.localCopy(info.key, scratchDirectory: scratch) },
            consume: { index, copy in
                let info = plan.files[index]
                defer { if copy.isTemporary { try? FileSystem.remove(copy.path) } }
                do {
                    bytesRead += try await BlockingWork.run { try output.apply(copy.path, info) }
                } catch let error as BatonError {
                    throw BatonError(error.code, "\(store.displayURL)/\(info.key): \(error.message)")
                }
                progress(index + 1, plan.files.count, bytesRead)
            },
            discard: { copy in if copy.isTemporary { try? FileSystem.remove(copy.path) } })
        try await BlockingWork.run { try output.file.sync() }
        return RestoreResult(
            txid: plan.targetTXID, filesApplied: plan.files.count, bytesRead: bytesRead,
            checksum: output.table.databaseChecksum, pageCount: output.table.pageCount, pageSize: output.pageSize)
    }

    private static func check(_ path: String, _ integrity: IntegrityCheck) throws {
        guard integrity != .none else { return }
        let escaped = path.replacingPercentSigns()
        let connection = try SQLiteConnection(path: "file:\(escaped)?immutable=1", readOnly: true, uri: true)
        defer { connection.close() }
        let pragma = integrity == .full ? "integrity_check" : "quick_check"
        let rows = try connection.rows("PRAGMA \(pragma)")
        let problems = rows.compactMap { $0.first ?? nil }.filter { $0 != "ok" }
        guard problems.isEmpty else {
            throw BatonError(
                .corrupt, "restored database fails PRAGMA \(pragma): \(problems.prefix(3).joined(separator: "; "))")
        }
    }

}

extension String {
    /// Escapes the characters that would end or change a SQLite URI's path.
    fileprivate func replacingPercentSigns() -> String {
        var result = ""
        for character in self {
            switch character {
            case "%": result += "%25"
            case "?": result += "%3f"
            case "#": result += "%23"
            default: result.append(character)
            }
        }
        return result
    }
}
