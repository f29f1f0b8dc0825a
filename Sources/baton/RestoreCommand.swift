import ArgumentParser
import BatonCore
import BatonNode
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
            """)

    @Argument(help: "The replica: file:///dir or a path.")
    var url: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the database.")
    var output: String

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

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if txid != nil && timestamp != nil { throw ValidationError("use either --txid or --timestamp, not both") }
        if let timestamp, Output.parseTime(timestamp) == nil {
            throw ValidationError("--timestamp \(timestamp) is not an RFC 3339 time like 2026-11-26T10:00:00Z")
        }
        if force && ifNotExists { throw ValidationError("--force and --if-not-exists contradict each other") }
    }

    func run() async throws {
        if ifNotExists && FileManager.default.fileExists(atPath: output) {
            if json { try Output.json(["skipped": output]) } else { Output.note("\(output) exists; nothing restored") }
            return
        }
        let store = try StoreURL(url).open()
        let target: RestorePlan.Target
        if let txid {
            target = .txid(txid)
        } else if let timestamp {
            target = .timestamp(Output.parseTime(timestamp)!)
        } else {
            target = .latest
        }
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
            try Output.json(
                RestoreSummary(
                    output: output, txid: result.txid, files: result.filesApplied, bytesRead: result.bytesRead,
                    pageSize: result.pageSize, pageCount: result.pageCount, checksum: LTXFileInfo.hex(result.checksum),
                    seconds: seconds))
        } else {
            print(
                "restored \(output) at transaction \(result.txid) from \(result.filesApplied) files "
                    + "(\(Output.bytes(result.bytesRead)), \(String(format: "%.2f", seconds)) s)")
        }
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
}
