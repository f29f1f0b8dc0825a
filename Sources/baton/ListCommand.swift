import ArgumentParser
import BatonCore
import BatonNode
import BatonStore

/// `baton ls URL`: what a replica holds.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the files of a replica: levels, transaction ranges, times and sizes.",
        discussion:
            "Level 0 holds segments, 1-8 compactions, 9 snapshots. EPOCH is the lease epoch of the writer (0 without a lease)."
    )

    @Argument(help: "The replica: file:///dir or a path.")
    var url: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let store = try StoreURL(url).open()
        let files = try await ReplicaCatalog.files(in: store, headers: true)
        if json {
            try Output.json(
                files.map {
                    ListedFile(
                        level: $0.level, minTXID: $0.minTXID, maxTXID: $0.maxTXID, size: $0.size,
                        timestamp: Output.time($0.timestampMilliseconds ?? 0), epoch: $0.epoch ?? 0)
                })
            return
        }
        guard !files.isEmpty else {
            print("\(store.displayURL) holds no LTX files")
            return
        }
        print("LEVEL  MIN_TXID  MAX_TXID  TIMESTAMP                 EPOCH  SIZE")
        for file in files {
            let columns = [
                pad("\(file.level)", 5), pad("\(file.minTXID)", 8), pad("\(file.maxTXID)", 8),
                pad(Output.time(file.timestampMilliseconds ?? 0), 24), pad("\(file.epoch ?? 0)", 5),
                Output.bytes(file.size),
            ]
            print(columns.joined(separator: "  "))
        }
        let total = files.reduce(Int64(0)) { $0 + $1.size }
        print("\(files.count) files, \(Output.bytes(total)), transactions up to \(files.map(\.maxTXID).max() ?? 0)")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// One file in `ls --json`.
struct ListedFile: Encodable {
    var level: Int
    var minTXID: UInt64
    var maxTXID: UInt64
    var size: Int64
    var timestamp: String
    var epoch: UInt64
}
