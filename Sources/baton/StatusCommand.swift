import ArgumentParser
import BatonCore
import BatonHA
import Foundation

/// `baton status`: what a node says about itself and the cluster.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a node's role, epoch, position, lag and lease.",
        discussion: """
            Exit status: 0 when the node answered, 1 when it could not be reached.

            Examples:
              baton status
              baton status --node http://10.0.0.2:8700 --json
              baton status --node https://10.0.0.2:8700 --ca /etc/baton/ca.crt
            """)

    @Option(help: "The node API to ask.")
    var node = "http://127.0.0.1:8700"

    @Flag(help: "Print the node's JSON as is.")
    var json = false

    @OptionGroup(title: "TLS (a node with tls: in baton.yml)")
    var tls: NodeTLSOptions

    func run() async throws {
        let reply = try await NodeControl.send("GET", node + "/status", token: NodeControl.token(), tls: tls.files)
        guard reply.status == 200 else {
            throw ValidationErrorText(
                "\(node) answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
        if json {
            print(String(decoding: reply.body, as: UTF8.self), terminator: "")
            return
        }
        let status = try JSONDecoder().decode(NodeStatus.self, from: Data(reply.body))
        print("node      \(status.name)")
        print("role      \(status.role)\(status.appRunning ? " (app running)" : "")")
        print("epoch     \(status.epoch)")
        print("holder    \(status.holder ?? "unknown")")
        print("txid      \(status.txid.map(String.init) ?? "unknown")")
        if status.role == "standby" {
            print("streaming \(status.streaming ? "yes" : "no")")
            let lag = status.lagTransactions.map { "\($0) transactions" } ?? "unknown"
            print("lag       \(lag)\(status.lagMilliseconds.map { ", \($0) ms" } ?? "")")
        }
        if let left = status.leaseTimeLeftMilliseconds { print("lease     \(left) ms left before writes stop") }
        if let mode = status.replication {
            var line = "mode      \(mode)"
            if mode == "sync", status.leaseTimeLeftMilliseconds != nil {
                line +=
                    status.syncStandby.map { ", \($0) in sync" } ?? ", no standby in sync (writes wait for the store)"
            }
            print(line)
        }
        if let databases = status.databases, databases.count > 1 {
            for database in databases {
                var line = "database  \(database.name) txid \(database.txid.map(String.init) ?? "unknown")"
                if status.role == "standby" {
                    line += database.streaming ? ", streaming" : ", not streaming"
                    if let lag = database.lagTransactions { line += ", lag \(lag)" }
                }
                if let stored = database.storedTXID { line += ", stored \(stored)" }
                print(line)
            }
        }
        for peer in status.peers {
            print("peer      \(peer.name) \(peer.api)\(peer.appliedTXID.map { " applied \($0)" } ?? "")")
        }
        print("failovers \(status.failovers), hand-overs \(status.handoffs)")
    }
}
