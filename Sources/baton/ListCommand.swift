import ArgumentParser
import BatonCore
import BatonHA
import BatonReplication
import BatonStore
import Foundation

/// `baton ls URL`: what a replica holds.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the files of a replica: levels, transaction ranges, times and sizes.",
        discussion: """
            Level 0 holds segments, 1-8 compactions, 9 snapshots. EPOCH is the lease epoch of the writer \
            (0 without a lease). On a group's store (several databases, <store>/<name>/ltx/...) it lists the \
            databases; --db NAME lists one of them.

            With --config baton.yml: every database of the node's config in each of its stores \
            (`stores: [primary, second]`), with how far the second store is behind the primary.
            """
    )

    @Argument(help: "The replica: file:///dir, a path, or s3://bucket/prefix.")
    var url: String?

    @Option(help: "A node's baton.yml: list each of its databases in each of its stores.")
    var config: String?

    @Option(help: "The database of a group to list (its name in the store).")
    var db: String?

    @OptionGroup(title: "Encryption")
    var encryption: EncryptionOptions

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if (url == nil) == (config == nil) { throw ValidationError("give a store URL or --config baton.yml") }
        if config != nil && db != nil { throw ValidationError("--config lists every database; leave out --db") }
    }

    func run() async throws {
        if let config {
            try await listStores(
                of: try NodeConfig.load(path: config, environment: ProcessInfo.processInfo.environment))
            return
        }
        let root = try StoreURL(url ?? "")
        let store = try (db.map { root.appending($0) } ?? root).open(
            encryption: try encryption.load(forWriting: false))
        var files = try await ReplicaCatalog.files(in: store, headers: false)
        if db == nil, files.isEmpty {
            let databases = try await ReplicaCatalog.databases(in: store)
            if !databases.isEmpty {
                try listGroup(databases, store: store)
                return
            }
        }
        if let db, files.isEmpty {
            let rootStore = try root.open()
            let known = try await ReplicaCatalog.databases(in: rootStore).keys.sorted()
            throw BatonError(
                .notFound,
                "\(rootStore.displayURL) has no database named \(db)"
                    + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
        }
        var encrypted = false
        do {
            files = try await ReplicaCatalog.withHeaders(files, in: store)
        } catch let error as BatonError where error.code == .decryption && encryption.identity == nil {
            // Names and sizes need no key; times and epochs are inside the files.
            encrypted = true
        }
        if json {
            try Output.json(
                files.map {
                    ListedFile(
                        level: $0.level, minTXID: $0.minTXID, maxTXID: $0.maxTXID, size: $0.size,
                        timestamp: $0.timestampMilliseconds.map(Output.time), epoch: $0.epoch,
                        encrypted: encrypted ? true : nil)
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
                pad(file.timestampMilliseconds.map(Output.time) ?? "?", 24), pad(file.epoch.map { "\($0)" } ?? "?", 5),
                Output.bytes(file.size),
            ]
            print(columns.joined(separator: "  "))
        }
        let total = files.reduce(Int64(0)) { $0 + $1.size }
        print("\(files.count) files, \(Output.bytes(total)), transactions up to \(files.map(\.maxTXID).max() ?? 0)")
        if encrypted {
            print(
                "the files are encrypted (age): sizes are as stored; --age-identity FILE shows their times and epochs")
        }
    }

    /// A group's store: one line per database.
    private func listGroup(_ databases: [String: [LTXFileInfo]], store: any ObjectStore) throws {
        let names = databases.keys.sorted()
        if json {
            try Output.json(
                names.map { name in
                    let files = databases[name] ?? []
                    return ListedDatabase(
                        name: name, files: files.count, maxTXID: files.map(\.maxTXID).max() ?? 0,
                        size: files.reduce(0) { $0 + $1.size })
                })
            return
        }
        print("DATABASE              FILES  MAX_TXID  SIZE")
        for name in names {
            let files = databases[name] ?? []
            let size = files.reduce(Int64(0)) { $0 + $1.size }
            print(
                [
                    pad(name, 20), pad("\(files.count)", 5), pad("\(files.map(\.maxTXID).max() ?? 0)", 8),
                    Output.bytes(size),
                ]
                .joined(separator: "  "))
        }
        print("\(names.count) databases in \(store.displayURL); baton ls URL --db NAME lists one")
    }

    /// `--config`: each database in each store, and the second store's lag.
    private func listStores(of config: NodeConfig) async throws {
        guard let group = config.group, !config.store.isEmpty else {
            throw BatonError(.usage, "the config names no database or no store")
        }
        var rows: [ListedStore] = []
        for member in group.members {
            var primaryTXID: UInt64 = 0
            for (index, url) in ([config.store] + (config.secondStore.map { [$0] } ?? [])).enumerated() {
                let store = try StoreURL(url).replica(of: member, in: group).open()
                let files = try await ReplicaCatalog.files(in: store, headers: false)
                let newest = files.map(\.maxTXID).max() ?? 0
                if index == 0 { primaryTXID = newest }
                rows.append(
                    ListedStore(
                        database: member.name, store: store.displayURL, role: index == 0 ? "primary" : "second",
                        files: files.count, maxTXID: newest, size: files.reduce(0) { $0 + $1.size },
                        lagTransactions: index == 0 ? nil : (primaryTXID > newest ? primaryTXID - newest : 0)))
            }
        }
        if json {
            try Output.json(rows)
            return
        }
        print("DATABASE              STORE    FILES  MAX_TXID  SIZE        LAG  URL")
        for row in rows {
            print(
                [
                    pad(row.database, 20), pad(row.role, 7), pad("\(row.files)", 5), pad("\(row.maxTXID)", 8),
                    pad(Output.bytes(row.size), 10), pad(row.lagTransactions.map { "\($0)" } ?? "-", 3), row.store,
                ]
                .joined(separator: "  "))
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// One database of a group in `ls --json`.
struct ListedDatabase: Encodable {
    var name: String
    var files: Int
    var maxTXID: UInt64
    var size: Int64
}

/// One file in `ls --json`.
struct ListedFile: Encodable {
    var level: Int
    var minTXID: UInt64
    var maxTXID: UInt64
    var size: Int64
    /// nil when the file is encrypted and no identity was given.
    var timestamp: String?
    var epoch: UInt64?
    /// true when the files are encrypted and no identity was given.
    var encrypted: Bool?
}

/// One database in one store in `ls --config --json`.
struct ListedStore: Encodable {
    var database: String
    var store: String
    /// `primary` or `second`.
    var role: String
    var files: Int
    var maxTXID: UInt64
    var size: Int64
    /// The second store: transactions the primary holds that it does not.
    var lagTransactions: UInt64?
}
