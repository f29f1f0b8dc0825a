import BatonCore
import Foundation
import NIOSSL

/// A node's certificate, key and certificate authorities as read from the
/// files `tls:` names, checked before anything listens (readable, PEM, the
/// key matching the certificate, the certificate valid now), and the TLS
/// configurations made from them: the node API's (asking for client
/// certificates with `clientAuth: require`), the front proxy's (never: its
/// clients are the app's users) and the one every request to a peer uses
/// (verifying the peer against `ca` and its name, presenting this node's
/// certificate for mutual TLS). Not checked here: that the certificate
/// chains to `ca` and names this node's address (a peer refusing it says so).
struct TLSMaterial: Sendable {
    let settings: TLSSettings
    /// When the node's certificate stops being valid (seconds since 1970).
    let notValidAfter: Int64
    let apiContext: NIOSSLContext
    let proxyContext: NIOSSLContext
    let client: TLSConfiguration

    /// Reads and checks the files; `nowSeconds` decides validity.
    static func load(_ settings: TLSSettings, nowSeconds: Int64) throws -> TLSMaterial {
        let chain = try certificates(settings.cert, key: "tls.cert")
        let authorities = try settings.ca.map { try certificates($0, key: "tls.ca") }
        try readable(settings.key, key: "tls.key")
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: settings.key, format: .pem)
        } catch {
            throw BatonError(
                .usage,
                "tls.key \(settings.key) holds no PEM private key (an encrypted key is not supported: `openssl pkey -in KEY -out PLAIN`)"
            )
        }
        let leaf = chain[0]
        let notAfter = Int64(leaf.notValidAfter)
        if notAfter < nowSeconds {
            throw BatonError(
                .usage,
                "tls.cert \(settings.cert) expired on \(Self.date(notAfter)): renew it, then start the node again (or send it SIGHUP)"
            )
        }
        let notBefore = Int64(leaf.notValidBefore)
        if notBefore > nowSeconds + 300 {
            throw BatonError(
                .usage,
                "tls.cert \(settings.cert) is not valid before \(Self.date(notBefore)); is this machine's clock right?")
        }
        if settings.clientAuth == .require, authorities == nil {
            throw BatonError(
                .usage, "tls.clientAuth: require needs tls.ca (the authority client certificates must chain to)")
        }
        let sources = chain.map { NIOSSLCertificateSource.certificate($0) }
        var api = TLSConfiguration.makeServerConfiguration(
            certificateChain: sources, privateKey: .privateKey(privateKey))
        api.minimumTLSVersion = .tlsv12
        var proxy = api
        if settings.clientAuth == .require, let authorities {
            // Clients are not named by an address the server could check: their chain is.
            api.certificateVerification = .noHostnameVerification
            api.trustRoots = .certificates(authorities)
            api.sendCANameList = true
        }
        proxy.certificateVerification = .none
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv12
        client.certificateVerification = .fullVerification
        client.trustRoots = authorities.map { .certificates($0) } ?? .default
        client.certificateChain = sources
        client.privateKey = .privateKey(privateKey)
        do {
            return TLSMaterial(
                settings: settings, notValidAfter: notAfter, apiContext: try NIOSSLContext(configuration: api),
                proxyContext: try NIOSSLContext(configuration: proxy), client: client)
        } catch {
            throw BatonError(
                .usage,
                "tls.key \(settings.key) does not fit tls.cert \(settings.cert) (\(error)): give the key the certificate was made for"
            )
        }
    }

    /// The certificates of a PEM file, at least one.
    private static func certificates(_ path: String, key: String) throws -> [NIOSSLCertificate] {
        try readable(path, key: key)
        let found = try? NIOSSLCertificate.fromPEMFile(path)
        guard let found, !found.isEmpty else {
            throw BatonError(.usage, "\(key) \(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return found
    }

    private static func readable(_ path: String, key: String) throws {
        guard FileManager.default.isReadableFile(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "not readable by this user" : "no such file"
            throw BatonError(.usage, "\(key) \(path): \(why)")
        }
    }

    /// A time as people read it in an error (UTC).
    static func date(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) + " UTC"
    }
}
