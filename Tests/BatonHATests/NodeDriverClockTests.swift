import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation
import Testing

@testable import BatonHA

/// The driver itself, on a `ManualClock`: its deadlines are met to the
/// millisecond of the clock it is given, and nothing here sleeps.
@Suite(.serialized) struct NodeDriverClockTests {
    /// Starts a node holding `databases` and returns once it serves.
    func holder(_ databases: [String], configure: (inout NodeConfig) -> Void = { _ in }) async throws
        -> DriverHarness
    {
        let directory = try DriverHarness.makeDirectory()
        var config = try DriverHarness.config(directory: directory, databases: databases)
        configure(&config)
        let harness = try DriverHarness(directory: directory, config: config)
        for name in databases { try harness.makeDatabase(name, rows: 3) }
        harness.start()
        try await harness.until("the node to serve") { harness.node.snapshot.role == .holder }
        return harness
    }

    @Test func aHolderThatCannotRenewFencesExactlyAtItsDeadline() async throws {
        let harness = try await holder(["app.db"]) { $0.leaseTTLMilliseconds = 10_000 }
        let node = harness.node
        #expect(node.app?.isRunning == true)
        #expect(node.route(hops: 0) == .local(node.config.appUpstream ?? ""))
        node.requests.leave()  // the route counted a request

        // The lease's store stops answering; the next renewal (due a third of the TTL after the last) fails.
        harness.faults.fail { $0 == LeaseClient.key }
        var waited: Int64 = 0
        while harness.faults.failures == 0 {
            try #require(waited < 10_000, "no renewal was attempted in 10 s of the node's clock")
            try await harness.advance(by: 100)
            waited += 100
        }
        let left = try #require(node.lease.timeLeftMilliseconds)
        #expect(left > 0 && left < 10_000)

        // One millisecond before the deadline the holder still serves.
        try await harness.advance(by: left - 1)
        #expect(node.lease.mayWrite)
        #expect(node.snapshot.role == .holder)
        #expect(node.app?.isRunning == true)

        // At the deadline: the app is killed and the driver steps down, with the clock not moving further.
        harness.clock.advance(by: 1)
        try await harness.until("the holder to step down") {
            node.snapshot.role == .standby && node.app?.isRunning == false
        }
        #expect(!node.lease.mayWrite)
        #expect(node.route(hops: 0) == .hold)
        #expect(harness.log.contains { $0.contains("fencing") })
        harness.faults.heal()
        try await harness.stop()
    }

    @Test func aHolderRenewsEveryThirdOfTheTTLAndNotMoreOften() async throws {
        let harness = try await holder(["app.db"]) { $0.leaseTTLMilliseconds = 9000 }
        let puts = { harness.faults.puts(of: LeaseClient.key) }
        let taken = puts()  // the write that took the lease
        #expect(taken == 1)
        // 3 s after taking it, in 100 ms steps: the first renewal comes exactly then.
        for _ in 0..<29 { try await harness.advance(by: 100) }
        #expect(puts() == taken)
        try await harness.advance(by: 100)
        try await harness.until("the first renewal") { puts() == taken + 1 }
        for _ in 0..<29 { try await harness.advance(by: 100) }
        #expect(puts() == taken + 1)
        try await harness.advance(by: 100)
        try await harness.until("the second renewal") { puts() == taken + 2 }
        #expect(harness.node.lease.mayWrite)
        try await harness.stop()
    }

    @Test func aHolderCapturesACommitWhenTheWALChangesWithoutItsClockMoving() async throws {
        let harness = try await holder(["app.db", "queue.db"])
        let node = harness.node
        let queue = try #require(node.database(named: "queue"))
        let before = queue.feed.latest.txid
        // Nothing else wakes the driver: no write waits for a TXID, and the clock stands still, so
        // only the change of queue.db-wal can make it capture (and stream) the commit.
        try harness.makeDatabase("queue.db", rows: 1)
        var waited = 0
        while queue.feed.latest.txid == before && waited < 500 {
            try await Task.sleep(nanoseconds: 10_000_000)
            waited += 1
        }
        #expect(queue.feed.latest.txid == before + 1, "the commit was not captured within 5 s of real time")
        try await harness.stop()
    }

    @Test func aHandOverWaitsForInFlightRequestsThenForAStandbyUntilItsTimers() async throws {
        let harness = try await holder(["app.db"]) {
            $0.leaseTTLMilliseconds = 60_000
            $0.holdTimeoutMilliseconds = 4000  // drains for half of it
            $0.handoffTimeoutMilliseconds = 3000
            // A peer that never asks for the stream, so it never confirms anything.
            $0.peers = [.init(name: "b", api: "http://127.0.0.1:1")]
        }
        let node = harness.node
        #expect(node.requests.enter())  // a request that does not end by itself
        let reply = Reply<Result<Node.HandoffReport, BatonError>>(clock: harness.clock)
        node.inbox.send(.handoff(to: nil, reply: reply))
        try await harness.until("the hand-over to begin") { node.snapshot.role == .handingOver }
        #expect(!node.requests.enter())  // the gate is closed: nothing new starts here

        // The drain waits for the request until its timer (2 s), not a millisecond less.
        try await harness.advance(by: 1999)
        #expect(node.app?.isRunning == true)
        #expect(node.snapshot.role == .handingOver)
        try await harness.advance(by: 1)
        try await harness.until("the app to stop") { node.app?.isRunning == false }
        node.requests.leave()

        // Then it waits for a standby to confirm the last transaction until its own timer (3 s).
        try await harness.advance(by: 2999)
        #expect(node.snapshot.role == .handingOver)
        #expect(reply.answer == nil)
        try await harness.advance(by: 1)
        try await harness.until("the holder to serve again") {
            node.snapshot.role == .holder && node.snapshot.serving && node.app?.isRunning == true
        }
        guard case .failure(let error) = reply.answer else {
            Issue.record("the hand-over did not report its failure: \(String(describing: reply.answer))")
            return
        }
        #expect(error.message.contains("no standby (b) confirmed"))
        #expect(node.requests.enter())  // serving again
        node.requests.leave()
        try await harness.stop()
    }

    @Test func aHandOverWhoseRequestsEndStopsTheAppWithoutWaitingForItsTimer() async throws {
        let harness = try await holder(["app.db"]) {
            $0.leaseTTLMilliseconds = 60_000
            $0.holdTimeoutMilliseconds = 4000
            $0.peers = [.init(name: "b", api: "http://127.0.0.1:1")]
        }
        let node = harness.node
        #expect(node.requests.enter())
        let reply = Reply<Result<Node.HandoffReport, BatonError>>(clock: harness.clock)
        node.inbox.send(.handoff(to: nil, reply: reply))
        try await harness.until("the hand-over to begin") { node.snapshot.role == .handingOver }
        // The clock does not move: the last request ending is what lets the app stop.
        node.requests.leave()
        try await harness.until("the app to stop") { node.app?.isRunning == false }
        try await harness.stop()
    }

    @Test func aPromotionCatchesUpTheLaggingDatabaseAndStartsTheAppOnlyOnceAllAreCurrent() async throws {
        let directory = try DriverHarness.makeDirectory()
        let names = ["primary.db", "queue.db"]
        // The app writes what it finds in each database the moment it starts.
        let report = names.map { name in
            "python3 -c \"import sqlite3; print('\(name)', sqlite3.connect('\(directory)/\(name)').execute('select count(*) from t').fetchone()[0])\" >> \(directory)/seen"
        }
        var config = try DriverHarness.config(
            directory: directory, databases: names, app: report.joined(separator: "; ") + "; sleep 600")
        config.leaseTTLMilliseconds = 60_000
        let group = try #require(config.group)

        // The store holds both databases at 3 + 5 rows; the local queue.db is a standby
        // copy still at 3 rows, primary.db is current.
        let storeURL = try StoreURL(config.store)
        var lagging: (txid: UInt64, checksum: UInt64)?
        var current: [String: (txid: UInt64, checksum: UInt64)] = [:]
        let setup = try DriverHarness(directory: directory, config: config)
        for member in group.members {
            try setup.makeDatabase(URL(fileURLWithPath: member.path).lastPathComponent, rows: 3)
            let store = try storeURL.replica(of: member, in: group).open(metrics: StoreMetrics())
            var options = ReplicatorOptions()
            options.batchWindowMilliseconds = 0
            let replicator = try Replicator(databasePath: member.path, store: store, options: options)
            try await replicator.start()
            if member.name == "queue" { lagging = (replicator.sealedTXID, replicator.sealedChecksum) }
            let writer = try SQLiteConnection(path: member.path)
            for row in 0..<5 { try writer.execute("INSERT INTO t(v) VALUES ('later \(row)')") }
            writer.close()
            try await replicator.step()
            try await replicator.finish()
            current[member.name] = (replicator.sealedTXID, replicator.sealedChecksum)
            replicator.close()
        }
        let queue = try #require(group.member(named: "queue"))
        let queueStore = try storeURL.replica(of: queue, in: group).open(metrics: StoreMetrics())
        let behind = try #require(lagging)
        let restored = try await Restorer(store: queueStore).restore(
            to: queue.path, target: .txid(behind.txid), integrity: .quick, force: true)
        #expect(restored.txid == behind.txid)
        for member in group.members {
            let position = member.name == "queue" ? behind : try #require(current[member.name])
            let copy = try StandbyDatabase(path: member.path, directory: member.path + "-baton/standby")
            _ = try copy.adopt(txid: position.txid, checksum: position.checksum, epoch: 0)
            copy.close()
        }
        #expect(try setup.count("queue.db") == 3)
        #expect(try setup.count("primary.db") == 8)
        let primaryFile = try inode(directory + "/primary.db")

        let harness = setup
        harness.start()
        try await harness.until("the node to serve") { harness.node.snapshot.role == .holder }
        let node = harness.node
        // The lagging copy was brought to the store's newest state; the current one kept as it was.
        #expect(try harness.count("queue.db") == 8)
        #expect(try harness.count("primary.db") == 8)
        #expect(try LocalDatabase.checksum(queue.path) == current["queue"]?.checksum)
        #expect(harness.log.contains { $0.contains("queue: local copy at transaction \(behind.txid)") })
        #expect(try inode(directory + "/primary.db") == primaryFile)  // kept, not restored
        // When the app started, both databases already had every row.
        try await harness.until("the app to report") {
            // Both lines complete (a read may land while the second is being written).
            let text = (try? String(contentsOfFile: directory + "/seen", encoding: .utf8)) ?? ""
            return text.hasSuffix("\n") && text.split(separator: "\n").count == 2
        }
        let seen = try String(contentsOfFile: directory + "/seen", encoding: .utf8)
        #expect(seen.split(separator: "\n").sorted() == ["primary.db 8", "queue.db 8"])
        #expect(node.app?.isRunning == true)
        try await harness.stop()
    }

    /// The file's inode: a restore replaces the file, keeping it does not.
    func inode(_ path: String) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
    }
}
