import ArgumentParser
import BatonHA
import Foundation

/// How the CLI reaches a node API served over TLS (`tls:` in baton.yml).
struct NodeTLSOptions: ParsableArguments {
    @Option(
        help:
            "CA certificate (PEM) that an https:// node's certificate must chain to (default: $BATON_CA, else the system's roots)."
    )
    var ca: String?

    @Option(help: "Client certificate (PEM) for a node with tls.clientAuth: require (default: $BATON_CERT).")
    var cert: String?

    @Option(help: "The client certificate's private key (PEM; default: $BATON_KEY).")
    var key: String?

    /// The files given, or named by the environment.
    var files: ControlClient.TLSFiles {
        let environment = ProcessInfo.processInfo.environment
        func given(_ value: String?, _ name: String) -> String? {
            value ?? environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        return .init(ca: given(ca, "BATON_CA"), cert: given(cert, "BATON_CERT"), key: given(key, "BATON_KEY"))
    }
}
