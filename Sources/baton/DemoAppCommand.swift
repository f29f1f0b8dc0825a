import ArgumentParser
import BatonHA
import Foundation

/// `baton demo-app`: the counter app `baton demo` supervises (hidden).
struct DemoAppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-app",
        abstract: "The demo's HTTP counter app backed by SQLite (used by `baton demo` and the tests).",
        shouldDisplay: false)

    @Option(help: "host:port to listen on.")
    var listen = "127.0.0.1:3000"

    @Option(help: "The database (default: $BATON_DB).")
    var db: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = db ?? environment["BATON_DB"] else { throw ValidationError("give --db or set BATON_DB") }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be host:port")
        }
        try await DemoApp.run(
            host: String(listen[..<colon]), port: port, databasePath: path, epoch: environment["BATON_EPOCH"] ?? "0")
    }
}
