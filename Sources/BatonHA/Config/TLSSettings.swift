/// `tls:` in `baton.yml`: the node API, the front proxy and every request
/// to a peer speak TLS with this certificate; peers are verified against
/// `ca`. The files are re-read on SIGHUP and when they change.
public struct TLSSettings: Sendable, Equatable {
    /// The node's certificate chain (PEM, leaf first); it must name the
    /// address peers reach this node at (a DNS or IP subject alternative name).
    public var cert: String
    /// The certificate's private key (PEM, not encrypted).
    public var key: String
    /// The certificate authorities peers' certificates must chain to (PEM);
    /// nil trusts the system's roots.
    public var ca: String?
    /// Whether the node API asks for a client certificate signed by `ca`.
    public var clientAuth: ClientAuth = .none

    /// `tls.clientAuth`.
    public enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        /// Any client may connect (the token still guards the API).
        case none
        /// Only clients with a certificate from `ca` reach the node API
        /// (mutual TLS): the token becomes optional between nodes.
        case require
    }

    /// The files `tls:` names.
    public init(cert: String, key: String, ca: String? = nil, clientAuth: ClientAuth = .none) {
        self.cert = cert
        self.key = key
        self.ca = ca
        self.clientAuth = clientAuth
    }

    /// The files, as they are watched for changes.
    var files: [String] { [cert, key] + (ca.map { [$0] } ?? []) }
}
