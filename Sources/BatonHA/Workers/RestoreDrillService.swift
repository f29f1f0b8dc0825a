import BatonCore
import BatonReplication
import BatonSystem
import Foundation
import ServiceLifecycle

/// Scheduled restore drills (`verify: {every, points}`): while the node is
/// a standby, every `every` it restores each database's newest state and
/// `points` earlier points from the store into `<db>-baton/drill/` and
/// checks them (`RestoreDrill`), so an alert fires when backups stop being
/// restorable. The holder never runs one (its machine serves the app); a
/// drill due while the node holds waits until it is a standby again. The
/// last result survives restarts in `<first db>-baton/last-drill.json`.
struct RestoreDrillService: Service {
    let node: Node
    let everyMilliseconds: Int64
    let points: Int

    /// The longest a due drill waits for a role change before looking again.
    static let roleCheckMilliseconds: Int64 = 30_000

    private var recordPath: String { (node.databases.first?.stateDirectory ?? ".") + "/last-drill.json" }

    func run() async throws {
        if let kept = load() { node.recordDrill(kept) }
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let last = node.drill?.startedMilliseconds
                let due = last.map { $0 + everyMilliseconds } ?? (wallClock() + min(everyMilliseconds, 60_000))
                let wait = max(0, due - wallClock())
                do {
                    try await node.clock.sleep(milliseconds: wait)
                } catch {
                    return
                }
                // Due while holding: wait until the node is a standby again (its state changes are signalled).
                while !Task.isCancelled && node.snapshot.role != .standby {
                    let seen = node.changes.version
                    if node.snapshot.role == .standby { break }
                    await node.changes.wait(from: seen, timeoutMilliseconds: Self.roleCheckMilliseconds)
                }
                if Task.isCancelled { return }
                await drill()
            }
        }
    }

    /// One drill over every database of the group.
    private func drill() async {
        let started = wallClock()
        var random = SystemRandomNumberGenerator()
        var reports: [(name: String, report: RestoreDrill.Report)] = []
        for database in node.databases {
            let drill = RestoreDrill(store: database.store, scratchDirectory: database.stateDirectory + "/drill")
            reports.append((database.name, await drill.run(points: points, random: &random)))
        }
        let status = DrillStatus(reports: reports, startedMilliseconds: started, previous: node.drill)
        node.recordDrill(status)
        save(status)
        let seconds = String(format: "%.1f", Double(wallClock() - started) / 1000)
        if status.passed {
            node.log("restore drill: \(status.restores) restores verified (checksums, integrity_check) in \(seconds) s")
        } else {
            node.log(
                "restore drill FAILED: \(status.failures.count) of \(status.restores) restores: "
                    + status.failures.joined(separator: "; "))
        }
    }

    private func wallClock() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    private func load() -> DrillStatus? {
        guard let data = FileManager.default.contents(atPath: recordPath) else { return nil }
        return try? JSONDecoder().decode(DrillStatus.self, from: data)
    }

    private func save(_ status: DrillStatus) {
        guard let data = try? JSONEncoder().encode(status) else { return }
        do {
            try FileSystem.makeDirectories(FileSystem.parent(of: recordPath))
            try FileSystem.writeAtomically([UInt8](data), to: recordPath)
        } catch {
            node.log(
                "restore drill: cannot keep its result in \(recordPath) (\(error)); the next start runs one sooner")
        }
    }
}
