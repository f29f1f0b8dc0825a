import ArgumentParser
import BatonCore
import BatonHA
import Foundation

/// `baton node --config baton.yml`: one HA node.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run an HA node: holder (runs the app, streams every commit) or hot standby.",
        discussion: """
            Run one node per machine with the same store and each machine's own name and addresses. \
            The node that takes the lease in the store runs the app and streams every committed \
            transaction to the others, which apply it to their own copy; when the holder dies, a \
            standby takes over once the lease has expired on the store's clock. SIGTERM on the holder \
            hands the baton to a caught-up standby first (for deploys); see `baton handoff`. With \
            --replication sync (replication: sync), no acknowledged write is lost when the holder's \
            machine dies. Every node also serves the rqlite-compatible relay API (/db/execute, \
            /db/query, /db/request) for scripts and other services.

            Every key of baton.yml is documented in the README. Flags override the file; without \
            --config the flags alone must name the node, database and store.

            Examples:
              baton node --config /etc/baton.yml
              baton node --name a --database app.db --store file:///srv/replica \\
                --api-listen 127.0.0.1:8700 --proxy-listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000 \\
                --app "python3 app.py" --peer b=http://127.0.0.1:8701,http://127.0.0.1:8081
            """)

    @Option(help: "The config file (YAML, ${VAR} expanded from the environment).")
    var config: String?

    @Option(help: "This node's unique name.")
    var name: String?

    @Option(help: "The SQLite database the app uses.")
    var database: String?

    @Option(help: "The replica store: file:///dir, a path, or s3://bucket/prefix?endpoint=...")
    var store: String?

    @Option(help: "Node API address host:port (default 127.0.0.1:8700).")
    var apiListen: String?

    @Option(help: "Front proxy address host:port.")
    var proxyListen: String?

    @Option(help: "The local app's URL the proxy forwards to on the holder.")
    var upstream: String?

    @Option(help: "The app's shell command, run only on the holder.")
    var app: String?

    @Option(help: "A URL that answers 2xx once the app is ready.")
    var ready: String?

    @Option(help: "Another node: name=apiURL[,proxyURL] (repeatable).")
    var peer: [String] = []

    @Option(help: "Lease time to live, e.g. 10s.")
    var ttl: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "async, or sync: a write's answer leaves the holder only once the standby (or the store) has it.",
            valueName: "mode"))
    var replication: String?

    @Flag(
        help:
            "Let the node API listen beyond loopback without TLS (insecure: true): the token and the database's pages cross the network in clear."
    )
    var insecure = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var settings =
            try config.map { try NodeConfig.load(path: $0, environment: environment) } ?? NodeConfig()
        if let name { settings.name = name }
        if let database {
            if settings.databases != nil {
                throw ValidationError("--database names one file, but the config lists databases: (a group); use one")
            }
            settings.database = database
        }
        if let store { settings.store = store }
        if let apiListen { settings.apiListen = apiListen }
        if let proxyListen { settings.proxyListen = proxyListen }
        if let upstream { settings.appUpstream = upstream }
        if let app { settings.appCommand = app }
        if let ready { settings.appReadyURL = ready }
        if let ttl { settings.leaseTTLMilliseconds = ttl.milliseconds }
        if insecure { settings.insecure = true }
        if let replication {
            guard let mode = NodeConfig.ReplicationMode(rawValue: replication) else {
                throw ValidationError("--replication must be async or sync, got '\(replication)'")
            }
            settings.replicationMode = mode
        }
        if settings.token == nil, let token = environment["BATON_TOKEN"], !token.isEmpty { settings.token = token }
        for text in peer {
            guard let equals = text.firstIndex(of: "=") else {
                throw ValidationError("--peer must be name=apiURL[,proxyURL], got '\(text)'")
            }
            let urls = text[text.index(after: equals)...].split(separator: ",").map(String.init)
            guard let api = urls.first else { throw ValidationError("--peer \(text) has no API URL") }
            settings.peers.removeAll { $0.name == String(text[..<equals]) }
            settings.peers.append(.init(name: String(text[..<equals]), api: api, proxy: urls.dropFirst().first))
        }
        let node: Node
        do {
            node = try Node(config: settings) { Output.log($0) }
        } catch let error as BatonError where error.code == .usage {
            throw ValidationErrorText(error.message)
        }
        let files = (settings.group?.members ?? []).map(\.path).joined(separator: ", ")
        let noun = (settings.group?.members.count ?? 1) > 1 ? "databases" : "database"
        Output.log("node \(settings.name): \(noun) \(files), store \(settings.store), API \(settings.apiListen)")
        try await NodeService.runUntilSignalled(node)
    }
}
