import ArgumentParser
import BatonCore
import BatonHA
import Foundation

/// `baton handoff`: planned switchover.
struct HandoffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handoff",
        abstract: "Hand the baton from the holder to a caught-up standby (e.g. before a deploy).",
        discussion: """
            The holder's proxies hold new requests, in-flight requests finish, the app stops, the \
            last transactions reach the standby, the lease passes to it without waiting for its TTL, \
            it starts the app and the held requests go on to it. Ask the holder (any node's \
            `baton status` names it). Exits 0 once the baton has been passed.

            Examples:
              baton handoff
              baton handoff --node http://10.0.0.1:8700 --to b
            """)

    @Option(help: "The holder's node API.")
    var node = "http://127.0.0.1:8700"

    @Option(help: "The standby to hand to (default: the first caught-up one).")
    var to: String?

    @OptionGroup(title: "TLS (a node with tls: in baton.yml)")
    var tls: NodeTLSOptions

    func run() async throws {
        var body: [String: String] = [:]
        if let to { body["to"] = to }
        let reply = try await NodeControl.send(
            "POST", node + "/handoff", token: NodeControl.token(),
            body: try JSONSerialization.data(withJSONObject: body), tls: tls.files)
        let text = String(decoding: reply.body, as: UTF8.self)
        guard reply.status == 200 else { throw ValidationErrorText("hand-over refused (\(reply.status)): \(text)") }
        let report = try JSONDecoder().decode(Node.HandoffReport.self, from: Data(reply.body))
        print(
            "handed the baton from \(report.from) to \(report.to) at transaction \(report.txid) (traffic held \(report.milliseconds) ms)"
        )
    }
}
