import ArgumentParser
import BatonCore
import BatonHA
import BatonReplication
import BatonStore
import BatonSystem
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `baton replicate DB URL`: continuous backup.
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Continuously back up a SQLite database (WAL mode), or every database of a group, to a store.",
        discussion: """
            Runs until SIGINT or SIGTERM, then captures, seals and uploads everything and exits 0. \
            With --exec, the signal reaches the command first (as SIGTERM); replication goes on until it \
            exits, then stops the same way and exits with the command's status. \
            Another process (your app) writes the database; Baton reads its WAL, stores each committed \
            transaction, and runs checkpoints itself (your app's own checkpoints keep working).

            Files that could not be uploaded stay in <db>-baton/pending and are sent first on the next start.

            A group (several databases of one app, e.g. Rails 8's four) goes to one replica per database \
            under the store, <store>/<name>/ltx/..., each restorable on its own with --db. --config reads \
            `databases:` and `store:` from baton.yml; --dir replicates every file of a folder matching \
            --pattern, and files that appear later join. Every listed database is checked before \
            anything is uploaded.

            Examples:
              baton replicate app.db file:///backups/app
              baton replicate app.db file:///backups/app --exec "python3 app.py"
              baton replicate app.db file:///backups/app --once
              baton replicate --config baton.yml
              baton replicate --dir storage --pattern '*.sqlite3' file:///backups/app
            """)

    @Argument(help: "The SQLite database file (omit with --config; with --dir, give only the URL).")
    var database: String?

    @Argument(help: "Where the replica goes: file:///dir, a path, or s3://bucket/prefix.")
    var url: String?

    @Option(help: "Back up every database of the group in this baton.yml (its databases: and store:).")
    var config: String?

    @Option(help: "Back up every database in this folder whose name matches --pattern.")
    var dir: String?

    @Option(help: "With --dir: which file names belong (* and ? as in the shell).")
    var pattern = "*.sqlite3"

    @Option(help: "With --dir: look for new files this often, in milliseconds.")
    var scanMs: Int64 = 1000

    @Flag(help: "Sync once (snapshot or catch up), upload, and exit.")
    var once = false

    @Option(
        help:
            "Run this command (through /bin/sh -c) as a child; stop when it exits and exit with its status (SIGINT/SIGTERM reach it as SIGTERM)."
    )
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

    @Option(help: "Before the --retention window, keep one restore point per hour for this many hours (0: none).")
    var keepHourly = 0

    @Option(help: "Before the window, keep one restore point (the day's snapshot) per day for this many days.")
    var keepDaily = 0

    @Option(help: "Before the window, keep one restore point per week for this many weeks.")
    var keepWeekly = 0

    @Option(help: "Directory for files waiting for upload (default: <db>-baton).")
    var stateDir: String?

    @Flag(help: "Switch a database in rollback-journal mode to WAL mode instead of refusing it.")
    var enableWal = false

    @Flag(
        help: ArgumentHelp(
            "Write files Litestream 0.5's `litestream restore` can read (without database checksums).",
            discussion: """
                Baton still verifies every file's own checksum and computes the database checksum \
                itself when it restores; a restart of replicate writes a new snapshot. Not for a \
                replica `baton node` uses: HA relies on the checksums.
                """))
    var litestreamCompatible = false

    @Option(
        help: ArgumentHelp(
            "Also copy every file to this second store (a DR copy, e.g. in another region).",
            discussion: """
                Files are copied from the store after they are uploaded there; a second store that is \
                down or slow falls behind and catches up, never delaying the first. It keeps its own \
                retention; restore from it like from any replica.
                """, valueName: "url"))
    var also: String?

    @OptionGroup(title: "Encryption")
    var encryption: EncryptionOptions

    @Flag(help: "Print a JSON summary on exit.")
    var json = false

    func validate() throws {
        if config != nil && dir != nil { throw ValidationError("use either --config or --dir, not both") }
        if config != nil && (database != nil || url != nil) {
            throw ValidationError("--config takes the databases and the store from the file; give no DB or URL")
        }
        if dir != nil && url != nil {
            throw ValidationError("with --dir give only the store URL: baton replicate --dir DIR URL")
        }
        if dir != nil && database == nil { throw ValidationError("with --dir, the store URL is required") }
        if config == nil && dir == nil && (database == nil || url == nil) {
            throw ValidationError("give a database and a store URL (baton replicate DB URL), or --config, or --dir")
        }
        if scanMs < 10 { throw ValidationError("--scan-ms must be at least 10") }
        if once && exec != nil { throw ValidationError("--once and --exec cannot be used together") }
        if let also, also == url { throw ValidationError("--also must name another store than the first") }
        if batchWindowMs < 0 || pollMs < 1 || checkpointPages < 1 || truncateMib < 1 || snapshotHours <= 0 {
            throw ValidationError("intervals and thresholds must be positive")
        }
    }

    func run() async throws {
        if let mode = try groupMode() {
            try await runGroup(
                mode.group, storeURL: mode.store, secondStoreURL: mode.second, encryption: mode.encryption)
            return
        }
        guard let database, let url else { throw ValidationError("give a database and a store URL") }
        let keys = try encryption.load(forWriting: true)
        let store = try StoreURL(url).open(encryption: keys)
        let options = replicatorOptions()
        let replicator = try Replicator(databasePath: database, store: store, options: options) {
            Output.log($0)
        }
        defer { replicator.close() }
        let box = UncheckedBox(replicator)
        let once = self.once
        let mirror = try also.map { second in
            StoreMirror(
                source: store, target: try StoreURL(second).open(encryption: keys),
                scratchDirectory: (options.stateDirectory ?? database + "-baton") + "/mirror",
                retention: options.retentionPolicy, log: { Output.log($0) })
        }
        let replication = ReplicationService { shouldStop in
            let replicator = box.value
            try await replicator.start()
            if once || shouldStop() {
                try await replicator.finish()
                if let mirror { try await ReplicateCommand.finalCopy(mirror) }
                return
            }
            Output.log("replicating \(database) to \(store.displayURL) (transaction \(replicator.stats.txid))")
            guard let mirror else {
                try await replicator.run(shouldStop: shouldStop)
                return
            }
            Output.log("copying it on to \(mirror.targetURL)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await mirror.keepCopying(
                        mayWrite: { true }, sleep: { try await Task.sleep(for: .milliseconds($0)) },
                        now: { Int64(Date().timeIntervalSince1970 * 1000) })
                }
                // Replication's end (a signal, --once, the child's exit) ends the copying too.
                try await box.value.run(shouldStop: shouldStop)
                group.cancelAll()
            }
            try await ReplicateCommand.finalCopy(mirror)
        }
        let child = try await runServices(replication)
        report(replicator)
        if let status = child?.exitStatus, status != 0 { throw ExitCode(status) }
    }

    /// The last copy before exiting: what replication uploaded last reaches the second store too.
    static func finalCopy(_ mirror: StoreMirror) async throws {
        do {
            let copied = try await mirror.pass(allFolders: true)
            let txid = mirror.published?.txid ?? 0
            Output.log("the second store \(mirror.targetURL) is at transaction \(txid) (\(copied) objects copied last)")
        } catch {
            throw BatonError(
                .io,
                "the replica is complete in the first store, but the second store \(mirror.targetURL) "
                    + "could not get its last files: \(error) (the next run copies them)")
        }
    }

    /// Runs `replication` and the `--exec` child (unless `--once`) in one
    /// service group until it ends: when replication is done (`--once`),
    /// when the child exits, or on SIGTERM/SIGINT, which reach the child
    /// first (as SIGTERM; replication goes on until it exits) and then
    /// replication (which seals and uploads everything). Returns the child.
    private func runServices(_ replication: ReplicationService) async throws -> ChildProcess? {
        let child = once ? nil : try exec.map(ReplicateCommand.startChild)
        var logger = Logger(label: "baton")
        logger.logLevel = .warning
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: replication, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let child {
            services.append(
                .init(service: ChildService(child: child), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        return child
    }

    /// Starts the `--exec` command (`/bin/sh -c`), sharing our standard
    /// input, output and error; it dies with this process.
    static func startChild(_ command: String) throws -> ChildProcess {
        do {
            return try ChildProcess(arguments: ["/bin/sh", "-c", command])
        } catch {
            throw ValidationErrorText("cannot start --exec command: \(error)")
        }
    }

    /// The line a run ends with for one database.
    static func summary(_ label: String, _ stats: ReplicatorStats) -> String {
        "\(label): replica at transaction \(stats.txid); "
            + "\(stats.filesUploaded) files (\(Output.bytes(stats.bytesUploaded))) uploaded this run"
    }

    /// The options every replicator of this run gets.
    private func replicatorOptions() -> ReplicatorOptions {
        var options = ReplicatorOptions()
        options.batchWindowMilliseconds = batchWindowMs
        options.pollIntervalMilliseconds = pollMs
        options.checkpointThresholdPages = checkpointPages
        options.truncateThresholdBytes = truncateMib * 1024 * 1024
        options.snapshotIntervalSeconds = Int64(snapshotHours * 3600)
        options.stateDirectory = stateDir
        options.compactionIntervalsMilliseconds = compactionLevels.intervals
        options.retentionMilliseconds = retention.milliseconds
        options.keepHourly = keepHourly
        options.keepDaily = keepDaily
        options.keepWeekly = keepWeekly
        options.enableWAL = enableWal
        options.databaseChecksums = !litestreamCompatible
        return options
    }

    /// The group, its store and its encryption with --config or --dir; nil for one database.
    private func groupMode() throws -> (
        group: DatabaseGroup, store: StoreURL, second: StoreURL?, encryption: StoreEncryption?
    )? {
        let also = try self.also.map { try StoreURL($0) }
        let options = try encryption.load(forWriting: true)
        if let config {
            let file = try NodeConfig.load(path: config, environment: ProcessInfo.processInfo.environment)
            guard let group = file.group else {
                throw BatonError(.usage, "\(config): databases: (or database:) is required")
            }
            guard !file.store.isEmpty else { throw BatonError(.usage, "\(config): store is required") }
            // The command line's keys over the file's.
            // --also over the file's second store (stores: [primary, second]).
            let second = try also ?? file.secondStore.map { try StoreURL($0) }
            return (group, try StoreURL(file.store), second, try options ?? file.storeEncryption(warn: Output.note))
        }
        if let dir, let url = database {
            return (try DatabaseGroup(directory: .init(path: dir, pattern: pattern)), try StoreURL(url), also, options)
        }
        return nil
    }

    /// Backs up every database of `group` until a signal (or the --exec child) stops it.
    private func runGroup(
        _ group: DatabaseGroup, storeURL: StoreURL, secondStoreURL: StoreURL?, encryption: StoreEncryption?
    ) async throws {
        if let secondStoreURL, secondStoreURL == storeURL {
            throw ValidationError("--also must name another store than the first")
        }
        let replicator = GroupReplicator(
            group: group, storeURL: storeURL, secondStoreURL: secondStoreURL, encryption: encryption,
            options: replicatorOptions(),
            scanIntervalMilliseconds: scanMs
        ) { Output.log($0) }
        let once = self.once
        let ended = Mutex<[GroupReplicator.Outcome]>([])
        let replication = ReplicationService { shouldStop in
            if !once {
                let what = group.directory.map { "\($0.path)/\($0.pattern)" } ?? group.names.joined(separator: ", ")
                Output.log("replicating \(what) to \(try storeURL.open().displayURL)")
            }
            let outcomes = try await replicator.run(once: once, shouldStop: shouldStop)
            ended.withLock { $0 = outcomes }
        }
        let child = try await runServices(replication)
        let outcomes = ended.withLock { $0 }
        if json {
            try? Output.json(outcomes.map { GroupMemberSummary($0) })
        } else {
            for outcome in outcomes {
                Output.log(
                    ReplicateCommand.summary(
                        "\(outcome.member.name) (\(outcome.member.path))", outcome.stats ?? ReplicatorStats())
                        + (outcome.error.map { "; stopped: \($0)" } ?? ""))
            }
        }
        if let status = child?.exitStatus, status != 0 { throw ExitCode(status) }
        if outcomes.contains(where: { $0.error != nil }) { throw ExitCode(1) }
    }

    private func report(_ replicator: Replicator) {
        let stats = replicator.stats
        if json {
            try? Output.json(ReplicateSummary(stats))
        } else {
            Output.log(ReplicateCommand.summary(database ?? "", stats))
        }
    }
}

/// One database in the `--json` summary of a group run.
struct GroupMemberSummary: Encodable {
    var name: String
    var path: String
    var summary: ReplicateSummary
    var error: String?

    init(_ outcome: GroupReplicator.Outcome) {
        name = outcome.member.name
        path = outcome.member.path
        summary = ReplicateSummary(outcome.stats ?? ReplicatorStats())
        error = outcome.error
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
