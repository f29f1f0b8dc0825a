import BatonCore
import BatonStore
import BatonSystem
import Foundation

/// A restore drill ("trust your restores"): the newest state and a few
/// random earlier points of a replica are restored into a scratch folder,
/// each one verifying every file's checksum and the database checksum
/// before and after each file (`Restorer`), then checked by SQLite's full
/// `integrity_check`; the scratch copies are removed. A drill that cannot
/// restore a point reports which and why; it never writes to the store.
public struct RestoreDrill: Sendable {
    let store: any ObjectStore
    let scratchDirectory: String

    /// One restore of the drill.
    public struct Point: Sendable, Codable, Equatable {
        /// `latest`, or the transaction asked for.
        public var target: String
        /// The transaction restored (nil when it failed).
        public var txid: UInt64?
        /// Files applied.
        public var files: Int
        public var seconds: Double
        /// Why it failed; nil when it restored and checked.
        public var error: String?
    }

    /// What a drill found.
    public struct Report: Sendable, Codable, Equatable {
        public var store: String
        /// When it started (milliseconds since 1970).
        public var startedMilliseconds: Int64
        public var points: [Point]
        /// Whether every restore succeeded and checked.
        public var passed = false

        /// The report with `passed` decided.
        func finished() -> Report {
            var report = self
            report.passed = !points.isEmpty && points.allSatisfy { $0.error == nil }
            return report
        }
    }

    /// A drill of `store`, restoring into `scratchDirectory` (made and emptied as needed).
    public init(store: any ObjectStore, scratchDirectory: String) {
        self.store = store
        self.scratchDirectory = scratchDirectory
    }

    /// Restores the newest state and up to `points` earlier points chosen
    /// with `random` among the ends of the replica's live files.
    public func run(points: Int, random: inout some RandomNumberGenerator) async -> Report {
        var report = Report(
            store: store.displayURL, startedMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), points: [])
        report.points.append(await restore(.latest, label: "latest"))
        guard points > 0 else { return report.finished() }
        let ends: [UInt64]
        do {
            let files = RestorePlan.fenced(try await ReplicaCatalog.files(in: store, headers: true))
            let newest = report.points[0].txid ?? .max
            ends = Array(Set(files.map(\.maxTXID).filter { $0 < newest }))
        } catch {
            report.points.append(
                Point(
                    target: "earlier points", txid: nil, files: 0, seconds: 0,
                    error: "cannot list the replica: \(error)"))
            return report.finished()
        }
        for txid in ends.shuffled(using: &random).prefix(points).sorted() {
            report.points.append(await restore(.txid(txid), label: "transaction \(txid)"))
        }
        return report.finished()
    }

    private func restore(_ target: RestorePlan.Target, label: String) async -> Point {
        let started = MonotonicClock.now()
        let output = scratchDirectory + "/drill-\(UInt64.random(in: 0...UInt64.max)).db"
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileSystem.remove(output + suffix) }
        }
        do {
            try FileSystem.makeDirectories(scratchDirectory)
            let result = try await Restorer(store: store).restore(
                to: output, target: target, integrity: .full, force: true)
            return Point(
                target: label, txid: result.txid, files: result.filesApplied,
                seconds: Double(MonotonicClock.now() - started) / 1000, error: nil)
        } catch {
            return Point(
                target: label, txid: nil, files: 0, seconds: Double(MonotonicClock.now() - started) / 1000,
                error: (error as? BatonError)?.message ?? "\(error)")
        }
    }
}
