import AsyncHTTPClient
import BatonCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The CLI's requests to a node API (`baton status`, `baton handoff`), on
/// the same HTTP client as the nodes' own, with TLS when the URL is
/// `https://`: verified against `ca` (the system's roots without one), with
/// a client certificate for a node that requires one (`clientAuth: require`).
public enum ControlClient {
    /// The TLS files of a request; all optional.
    public struct TLSFiles: Sendable {
        public var ca: String?
        public var cert: String?
        public var key: String?

        /// The files given.
        public init(ca: String?, cert: String?, key: String?) {
            self.ca = ca
            self.cert = cert
            self.key = key
        }
    }

    /// Sends a request and reads the whole answer; throws a `BatonError`
    /// that names the node and the cause when it cannot be reached.
    public static func send(
        _ method: String, _ url: String, token: String?, body: [UInt8]? = nil, tls: TLSFiles,
        timeoutSeconds: Int64 = 60
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if url.hasPrefix("https://") { request.tlsConfiguration = try configuration(tls) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await PeerClient.http.execute(request, timeout: .seconds(timeoutSeconds))
            let buffer = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch {
            throw BatonError(.io, "cannot reach \(url): \(PeerClient.describe(error))")
        }
    }

    private static func configuration(_ files: TLSFiles) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        do {
            if let ca = files.ca { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let cert = files.cert, let key = files.key {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } else if files.cert != nil || files.key != nil {
                throw BatonError(.usage, "give both --cert and --key (a client certificate and its key)")
            }
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.usage, "cannot read the TLS files (\(error)): give PEM files to --ca, --cert and --key")
        }
        return configuration
    }
}
