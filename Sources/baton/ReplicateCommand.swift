import ArgumentParser
import BatonCore
import BatonNode
import BatonStore
import Foundation
import Synchronization

/// `baton replicate DB URL`: continuous backup.
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Continuously back up a SQLite database (WAL mode) to a store.",
        discussion: """
            Runs until SIGINT or SIGTERM, then captures, seals and uploads everything and exits 0. \
            Another process (your app) writes the database; Baton reads its WAL, stores each committed \
            transaction, and runs checkpoints itself (your app's own checkpoints keep working).

            Files that could not be uploaded stay in <db>-baton/pending and are sent first on the next start.

            Examples:
              baton replicate app.db file:///backups/app
              baton replicate app.db file:///backups/app --exec "python3 app.py"
              baton replicate app.db file:///backups/app --once
            """)

    @Argument(help: "The SQLite database file.")
    var database: String

    @Argument(help: "Where the replica goes: file:///dir or a path.")
    var url: String

    @Flag(help: "Sync once (snapshot or catch up), upload, and exit.")
    var once = false

    @Option(help: "Run this command (through /bin/sh -c) as a child; stop when it exits and exit with its status.")
    var exec: String?

    @Option(help: "Commits within this many milliseconds go into one file.")
    var batchWindowMs = 1000

    @Option(help: "Poll the WAL every this many milliseconds.")
    var pollMs = 20

    @Option(help: "Checkpoint after this many WAL pages were captured.")
    var checkpointPages = 1000

    @Option(help: "Truncate the WAL when it grows past this many MiB.")
    var truncateMib: Int64 = 500

    @Option(help: "Write a full snapshot every this many hours.")
    var snapshotHours: Double = 24

    @Option(help: "Compaction levels 1, 2, 3…: how often each merges the files below it, or none.")
    var compactionLevels = CompactionLevelsArgument([30_000, 300_000, 3_600_000])

    @Option(help: "Point-in-time history to keep (e.g. 24h, 7d); older files no restore needs are deleted.")
    var retention = DurationArgument(milliseconds: 24 * 3_600_000)

    @Option(help: "Directory for files waiting for upload (default: <db>-baton).")
    var stateDir: String?

    @Flag(help: "Switch a database in rollback-journal mode to WAL mode instead of refusing it.")
    var enableWal = false

    @Flag(help: "Print a JSON summary on exit.")
    var json = false

    func validate() throws {
        if once && exec != nil { throw ValidationError("--once and --exec cannot be used together") }
        if batchWindowMs < 0 || pollMs < 1 || checkpointPages < 1 || truncateMib < 1 || snapshotHours <= 0 {
            throw ValidationError("intervals and thresholds must be positive")
        }
    }

    func run() async throws {
        let store = try StoreURL(url).open()
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = batchWindowMs
        options.pollIntervalMilliseconds = pollMs
        options.checkpointThresholdPages = checkpointPages
        options.truncateThresholdBytes = truncateMib * 1024 * 1024
        options.snapshotIntervalSeconds = Int64(snapshotHours * 3600)
        options.stateDirectory = stateDir
        options.compactionIntervalsMilliseconds = compactionLevels.intervals
        options.retentionMilliseconds = retention.milliseconds
        options.enableWAL = enableWal
        let replicator = try Replicator(databasePath: database, store: store, options: options) { Output.log($0) }
        defer { replicator.close() }
        // Signals are handled from the start: a SIGTERM while the first sync runs still
        // ends with everything sealed and uploaded, and exit status 0.
        let childBox = Mutex<ChildProcess?>(nil)
        let stop = StopSignal { signal in childBox.withLock { $0 }?.forward(signal) }
        try await replicator.start()

        if once || stop.isStopped {
            try await replicator.finish()
            report(replicator)
            return
        }

        let child = try exec.map(ChildProcess.init)
        childBox.withLock { $0 = child }
        child?.onExit { stop.stop() }
        Output.log("replicating \(database) to \(store.displayURL) (transaction \(replicator.stats.txid))")
        try await replicator.run { stop.isStopped }
        report(replicator)
        if let child {
            let status = child.waitForExit()
            if status != 0 { throw ExitCode(status) }
        }
    }

    private func report(_ replicator: Replicator) {
        let stats = replicator.stats
        if json {
            try? Output.json(ReplicateSummary(stats))
        } else {
            Output.log(
                "\(database): replica at transaction \(stats.txid); "
                    + "\(stats.filesUploaded) files (\(Output.bytes(stats.bytesUploaded))) uploaded this run")
        }
    }
}

/// The `--json` summary of a replicate run.
struct ReplicateSummary: Encodable {
    var txid: UInt64
    var filesUploaded: Int
    var bytesUploaded: Int64
    var segments: Int
    var snapshots: Int
    var compactions: Int
    var filesDeleted: Int
    var checkpoints: Int
    var checkpointYields: Int
    var resyncs: Int

    init(_ stats: ReplicatorStats) {
        txid = stats.txid
        filesUploaded = stats.filesUploaded
        bytesUploaded = stats.bytesUploaded
        segments = stats.segmentsSealed
        snapshots = stats.snapshotsWritten
        compactions = stats.compactions
        filesDeleted = stats.filesDeleted
        checkpoints = stats.checkpoints
        checkpointYields = stats.checkpointYields
        resyncs = stats.resyncs
    }
}
