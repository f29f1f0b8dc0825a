import ArgumentParser
import BatonCore
import BatonReplication
import BatonStore
import Foundation

/// `baton restore URL -o DB`: point-in-time restore.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a database from a replica, to the latest state or a point in time.",
        discussion: """
            Applies the newest snapshot at or before the target and the files after it, verifying every \
            file checksum and the database checksum before and after each file, then runs SQLite's \
            quick_check and moves the result into place atomically.

            Examples:
              baton restore file:///backups/app -o restored.db
              baton restore file:///backups/app -o restored.db --txid 1234
              baton restore file:///backups/app -o restored.db --timestamp 2026-11-26T10:00:00Z

            A group's store (several databases, <store>/<name>/ltx/...): --db NAME restores one; --all \
            restores every one into the folder -o names, as <name><suffix> (names default to the files' \
            stems, so storage/production.sqlite3 comes back as production.sqlite3), each at its newest \
            state not after --timestamp. Existing outputs are checked for all of them before any is written.

              baton restore file:///backups/app --db queue -o queue.sqlite3
              baton restore file:///backups/app --all -o storage/ --timestamp 2026-11-26T10:00:00Z
            """)

    @Argument(help: "The replica: file:///dir, a path, or s3://bucket/prefix.")
    var url: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the database (with --all: a folder).")
    var output: String

    @Option(help: "The database of a group to restore (its name in the store).")
    var db: String?

    @Flag(help: "Restore every database of a group into the folder given by -o.")
    var all = false

    @Option(help: "With --all: the file name suffix after each database's name.")
    var suffix = ".sqlite3"

    @Option(help: "Restore to exactly this transaction.")
    var txid: UInt64?

    @Option(help: "Restore the newest state at or before this time (RFC 3339, e.g. 2026-11-26T10:00:00Z).")
    var timestamp: String?

    @Option(help: "SQLite check of the result: quick, full or none.")
    var integrity: IntegrityCheckArgument = .quick

    @Flag(help: "Replace the output if it exists.")
    var force = false

    @Flag(help: "Do nothing (and succeed) if the output already exists.")
    var ifNotExists = false

    @OptionGroup(title: "Encryption")
    var encryption: EncryptionOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if txid != nil && timestamp != nil { throw ValidationError("use either --txid or --timestamp, not both") }
        if let timestamp, Output.parseTime(timestamp) == nil {
            throw ValidationError("--timestamp \(timestamp) is not an RFC 3339 time like 2026-11-26T10:00:00Z")
        }
        if force && ifNotExists { throw ValidationError("--force and --if-not-exists contradict each other") }
        if all && db != nil { throw ValidationError("use either --db NAME or --all, not both") }
        if all && txid != nil {
            throw ValidationError("--txid names one database's transaction; with --all use --timestamp")
        }
        if suffix.contains("/") { throw ValidationError("--suffix must not contain '/'") }
    }

    func run() async throws {
        if all {
            try await restoreAll()
            return
        }
        if ifNotExists && FileManager.default.fileExists(atPath: output) {
            if json { try Output.json(["skipped": output]) } else { Output.note("\(output) exists; nothing restored") }
            return
        }
        let root = try StoreURL(url)
        let store = try (db.map { root.appending($0) } ?? root).open(encryption: try encryption.load(forWriting: false))
        let target = self.target
        let started = Date()
        let showProgress = !json && isatty(STDERR_FILENO) != 0
        var drewProgress = false
        let result = try await Restorer(store: store).restore(
            to: output, target: target, integrity: integrity.value, force: force
        ) { done, total, bytes in
            guard showProgress, Date().timeIntervalSince(started) > 1 else { return }
            let width = 30
            let filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) files, \(Output.bytes(bytes))".utf8))
            drewProgress = true
        }
        if drewProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        let seconds = Date().timeIntervalSince(started)
        if json {
            try Output.json(RestoreSummary(output: output, result: result, seconds: seconds))
        } else {
            print(
                "restored \(output) at transaction \(result.txid) from \(result.filesApplied) files "
                    + "(\(Output.bytes(result.bytesRead)), \(String(format: "%.2f", seconds)) s)")
        }
    }
}

extension RestoreCommand {
    var target: RestorePlan.Target {
        if let txid { return .txid(txid) }
        if let timestamp { return .timestamp(Output.parseTime(timestamp)!) }
        return .latest
    }

    /// `--all`: every database of the group, each into `<output>/<name><suffix>`.
    func restoreAll() async throws {
        let root = try StoreURL(url)
        let keys = try encryption.load(forWriting: false)
        let rootStore = try root.open(encryption: keys)
        let names = try await ReplicaCatalog.databases(in: rootStore).keys.sorted()
        guard !names.isEmpty else {
            throw BatonError(
                .notFound,
                "\(rootStore.displayURL) holds no group of databases (no <name>/ltx/ files); restore it without --all")
        }
        let outputs = names.map { (name: $0, path: output + (output.hasSuffix("/") ? "" : "/") + $0 + suffix) }
        var todo = outputs
        if ifNotExists { todo = outputs.filter { !FileManager.default.fileExists(atPath: $0.path) } }
        if !force {
            for item in todo {
                for path in [item.path, item.path + "-wal"] where FileManager.default.fileExists(atPath: path) {
                    throw BatonError(.alreadyExists, "\(path) already exists; pass --force to replace it")
                }
            }
        }
        var summaries: [RestoreSummary] = []
        for item in todo {
            let started = Date()
            let result: RestoreResult
            do {
                result = try await Restorer(store: try root.appending(item.name).open(encryption: keys)).restore(
                    to: item.path, target: target, integrity: integrity.value, force: force)
            } catch let error as BatonError where error.code == .notFound && timestamp != nil {
                // A database that did not exist yet at that time has nothing to restore.
                Output.note("\(item.name): nothing at or before \(timestamp ?? ""); not restored")
                continue
            }
            let seconds = Date().timeIntervalSince(started)
            summaries.append(RestoreSummary(output: item.path, result: result, seconds: seconds))
            if !json {
                print(
                    "restored \(item.name) to \(item.path) at transaction \(result.txid) from \(result.filesApplied) files "
                        + "(\(Output.bytes(result.bytesRead)), \(String(format: "%.2f", seconds)) s)")
            }
        }
        if json { try Output.json(summaries) }
    }
}

/// `--integrity` values.
struct IntegrityCheckArgument: ExpressibleByArgument {
    let value: IntegrityCheck
    init?(argument: String) {
        guard let value = IntegrityCheck(rawValue: argument) else { return nil }
        self.value = value
    }
    static let quick = IntegrityCheckArgument(argument: "quick")!
    static var allValueStrings: [String] { IntegrityCheck.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}

/// The `--json` result of a restore.
struct RestoreSummary: Encodable {
    var output: String
    var txid: UInt64
    var files: Int
    var bytesRead: Int64
    var pageSize: UInt32
    var pageCount: UInt32
    var checksum: String
    var seconds: Double
    /// Where the time went: listing the replica (and reading headers), the files, the check.
    var listingSeconds: Double
    var filesSeconds: Double
    var checkSeconds: Double

    init(output: String, result: RestoreResult, seconds: Double) {
        self.output = output
        txid = result.txid
        files = result.filesApplied
        bytesRead = result.bytesRead
        pageSize = result.pageSize
        pageCount = result.pageCount
        checksum = LTXFileInfo.hex(result.checksum)
        self.seconds = seconds
        listingSeconds = Double(result.timings.catalogMilliseconds) / 1000
        filesSeconds = Double(result.timings.applyMilliseconds) / 1000
        checkSeconds = Double(result.timings.checkMilliseconds) / 1000
    }
}
