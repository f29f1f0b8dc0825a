import BatonCore
import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

@testable import BatonHA

/// One node's driver and workers (no HTTP servers) on a `ManualClock`, in
/// a folder of its own with a `file://` store: the test moves the clock and
/// looks at what the driver did, without sleeping. Every wait is bounded
/// by `realBoundSeconds` of real time, so a driver that never gets there
/// fails the test instead of hanging it.
final class DriverHarness: Sendable {
    let directory: String
    let clock = ManualClock()
    let faults = FaultyStore.Switch()
    let node: Node
    private let lines = LogLines()
    private let group: ServiceGroup
    private let running = Mutex<Task<Void, any Error>?>(nil)
    static let realBoundSeconds: UInt64 = 60

    /// A harness for `config` (its `store` and database paths already under `directory`).
    init(directory: String, config: NodeConfig) throws {
        self.directory = directory
        let lines = self.lines
        let faults = self.faults
        node = try Node(
            config: config, clock: clock, wrapStore: { FaultyStore($0, faults: faults) },
            log: { line in lines.append(line) })
        var logger = Logger(label: "driver-harness")
        logger.logLevel = .critical
        group = ServiceGroup(
            configuration: .init(services: NodeService.core(node), gracefulShutdownSignals: [], logger: logger))
    }

    /// A fresh folder for one test.
    static func makeDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "baton-driver-\(UUID().uuidString)"
        try FileSystem.makeDirectories(directory)
        return directory
    }

    /// A configuration with the store and `databases` (file names) under `directory`.
    static func config(directory: String, databases: [String], app: String? = "sleep 600") throws -> NodeConfig {
        var config = NodeConfig()
        config.name = "a"
        config.store = "file://\(directory)/store"
        if databases.count == 1 {
            config.database = "\(directory)/\(databases[0])"
        } else {
            config.databases = try DatabaseGroup(members: databases.map { .init(path: "\(directory)/\($0)") })
        }
        config.apiListen = "127.0.0.1:1"
        config.appCommand = app
        config.appUpstream = "http://127.0.0.1:1"
        config.appStopTimeoutMilliseconds = 2000
        return config
    }

    /// Everything the node logged so far.
    var log: [String] { lines.all }

    /// Starts the driver and its workers.
    func start() {
        let group = self.group
        running.withLock { $0 = Task { try await group.run() } }
    }

    /// Shuts the node down (a holder hands over first), waits for it and removes its folder.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        // Nothing the shutdown waits for may depend on the clock standing still.
        let task = running.withLock { $0 }
        let done = Latch()
        let clock = self.clock
        let ticker = Task {
            while !done.isOpen {
                clock.advance(by: 100)
                await Task.yield()
            }
        }
        defer { ticker.cancel() }
        try await bounded("the node to stop") {
            try await task?.value
            done.open()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Lets the driver look at the clock as it is now: wakes it and returns
    /// after it went idle twice (the second round began after this call).
    func settle() async throws {
        for _ in 0..<2 {
            let node = self.node
            let seen = node.driverIdle.version
            node.driverWake.signal()
            try await bounded("the driver to go idle") {
                while node.driverIdle.version == seen {
                    await node.driverIdle.wait(from: seen, timeoutMilliseconds: Int64.max / 4)
                }
            }
        }
    }

    /// Moves the clock by `milliseconds` and settles.
    func advance(by milliseconds: Int64) async throws {
        clock.advance(by: milliseconds)
        try await settle()
    }

    /// Settles until `condition` holds, without moving the clock.
    func until(_ what: String, _ condition: () -> Bool) async throws {
        let started = DispatchTime.now().uptimeNanoseconds
        while !condition() {
            guard DispatchTime.now().uptimeNanoseconds - started < DriverHarness.realBoundSeconds * 1_000_000_000 else {
                throw HarnessError("timed out waiting for \(what); log:\n" + log.joined(separator: "\n"))
            }
            try await settle()
            await Task.yield()
        }
    }

    /// Runs `body`, failing if it takes longer than `realBoundSeconds` of real time.
    private func bounded(_ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let log = self.log
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: DriverHarness.realBoundSeconds * 1_000_000_000)
                return false
            }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished {
                throw HarnessError("timed out waiting for \(what); log:\n" + log.joined(separator: "\n"))
            }
        }
    }

    /// Creates a WAL-mode database at `name` with table `t` and `rows` rows.
    func makeDatabase(_ name: String, rows: Int) throws {
        let connection = try SQLiteConnection(path: "\(directory)/\(name)", create: true)
        defer { connection.close() }
        try connection.execute("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)")
        for row in 0..<rows { try connection.execute("INSERT INTO t(v) VALUES ('row \(row)')") }
    }

    /// The number of rows in `name`'s table `t`.
    func count(_ name: String) throws -> Int {
        let connection = try SQLiteConnection(path: "\(directory)/\(name)", readOnly: true)
        defer { connection.close() }
        return Int(try connection.scalar("SELECT count(*) FROM t") ?? "") ?? -1
    }
}

/// What a node logged.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }
}

/// A harness wait that did not end.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
