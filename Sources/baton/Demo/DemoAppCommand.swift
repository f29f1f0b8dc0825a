import ArgumentParser
import BatonCore
import Foundation

/// `baton demo-app`: the counter app `baton demo` supervises (hidden).
struct DemoAppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-app",
        abstract: "The demo's HTTP counter app backed by SQLite (used by `baton demo` and the tests).",
        discussion: """
            Under `baton node` it finds its databases in the environment: BATON_DATABASES (the \
            group's names) with BATON_DB_<NAME> for each, else BATON_DB.
            """,
        shouldDisplay: false)

    @Option(help: "host:port to listen on.")
    var listen = "127.0.0.1:3000"

    @Option(help: "The database (default: the node's group from the environment, else $BATON_DB).")
    var db: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be host:port")
        }
        var databases: [(name: String, path: String)] = []
        if let db {
            databases = [("main", db)]
        } else if let names = environment["BATON_DATABASES"], !names.isEmpty {
            for name in names.split(separator: ",").map(String.init) {
                let key = DatabaseGroup.environmentVariable(for: name)
                guard let path = environment[key] else { throw ValidationError("\(key) is not set for \(name)") }
                databases.append((name, path))
            }
        } else if let path = environment["BATON_DB"] {
            databases = [("main", path)]
        }
        guard !databases.isEmpty else { throw ValidationError("give --db or set BATON_DB") }
        try await DemoApp.run(
            host: String(listen[..<colon]), port: port, databases: databases,
            epoch: environment["BATON_EPOCH"] ?? "0")
    }
}
