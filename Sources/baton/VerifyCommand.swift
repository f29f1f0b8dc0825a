import ArgumentParser
import BatonCore
import BatonReplication
import BatonStore
import Foundation

/// `baton verify URL`: a restore drill.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Restore drill: restore the newest state and random earlier points, and check each one.",
        discussion: """
            Every restore verifies each file's checksum and the database checksum before and after \
            each file, then runs SQLite's full integrity_check; the copies go to a scratch folder and are \
            removed. Nothing is written to the store. Exit status: 0 when every restore passed, 1 when \
            one failed (each failure is printed with its reason).

            Examples:
              baton verify s3://my-bucket/apps/app
              baton verify file:///backups/app --points 10 --json
              baton verify s3://my-bucket/apps/shop --db production     # one database of a group
            """)

    @Argument(help: "The replica: file:///dir, a path, or s3://bucket/prefix.")
    var url: String

    @Option(help: "How many earlier points to restore besides the newest state.")
    var points = 5

    @Option(help: "The database of a group to verify (its name in the store).")
    var db: String?

    @Option(help: "Where the restored copies go while they are checked (default: a temporary folder).")
    var scratchDir: String?

    @OptionGroup(title: "Encryption")
    var encryption: EncryptionOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if points < 0 { throw ValidationError("--points must be 0 or more") }
    }

    func run() async throws {
        let root = try StoreURL(url)
        let store = try (db.map { root.appending($0) } ?? root).open(encryption: try encryption.load(forWriting: false))
        let scratch = scratchDir ?? NSTemporaryDirectory() + "baton-verify-\(ProcessInfo.processInfo.processIdentifier)"
        defer { if scratchDir == nil { try? FileManager.default.removeItem(atPath: scratch) } }
        var random = SystemRandomNumberGenerator()
        let report = await RestoreDrill(store: store, scratchDirectory: scratch).run(points: points, random: &random)
        if json {
            try Output.json(report)
        } else {
            for point in report.points {
                if let error = point.error {
                    print("FAILED \(point.target): \(error)")
                } else {
                    print(
                        "ok     \(point.target): transaction \(point.txid ?? 0) from \(point.files) files, "
                            + "checksums and integrity_check passed (\(String(format: "%.2f", point.seconds)) s)")
                }
            }
        }
        guard report.passed else {
            let failed = report.points.filter { $0.error != nil }.count
            Output.note("\(failed) of \(report.points.count) restores of \(report.store) failed")
            throw ExitCode(1)
        }
        if !json { print("verified \(report.points.count) restores of \(report.store)") }
    }
}
