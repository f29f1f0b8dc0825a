import AsyncHTTPClient
import BatonCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// HTTP to other nodes (stream, takeover, status) and to the local app's
/// ready URL; one client for the process, never following redirects.
struct PeerClient: Sendable {
    /// The process-wide client (also used by the front proxy). Peers and the
    /// app are on the same network: a short connect timeout makes a request
    /// queued for a dead holder fail (unsent, so safe to retry) within half a
    /// second, instead of waiting in the pool while another node takes over.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            redirectConfiguration: .disallow, timeout: .init(connect: .milliseconds(500)),
            decompression: .disabled))

    let token: String?
    /// This node's TLS: requests to `https://` peers verify them against
    /// `tls.ca` and present this node's certificate.
    var tls: NodeTLS?

    /// A response read whole (for small control responses and stream batches).
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// Sends a request and reads the whole response (up to `maxBytes`).
    func send(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, timeoutMilliseconds: Int64,
        maxBytes: Int = 64 << 20, extraHeaders: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.tlsConfiguration = tls?.clientConfiguration(for: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await PeerClient.http.execute(request, timeout: .milliseconds(timeoutMilliseconds))
        } catch  where Self.isTLSFailure(error) {
            throw BatonError(.io, "\(url): \(Self.describe(error))")
        }
        let buffer = try await response.body.collect(upTo: maxBytes)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    /// A request's failure in words; a refused TLS handshake gets what to check.
    static func describe(_ error: any Error) -> String {
        guard isTLSFailure(error) else { return "\(error)" }
        var reason = "\(error)"
        if let ssl = error as? NIOSSLError, case .handshakeFailed(let inner) = ssl { reason = "\(inner)" }
        // Only for the words of the message: which side refused what.
        let known = [
            ("ALERT_UNKNOWN_CA", "the other side does not trust the CA that signed this side's certificate"),
            ("CERTIFICATE_EXPIRED", "the other side says this side's certificate has expired"),
            ("CERTIFICATE_REQUIRED", "the other side requires a client certificate (tls.clientAuth: require)"),
            ("CERTIFICATE_VERIFY_FAILED", "the other side's certificate is not signed by a trusted CA, or has expired"),
        ]
        let meaning = known.first { reason.contains($0.0) }.map { "\($0.1); " } ?? ""
        return
            "TLS handshake failed: \(meaning)check that each side's certificate is signed by the CA the other trusts (tls.ca), has not expired and names the address it is reached at (\(reason))"
    }

    /// Whether `error` is TLS refusing the connection: the handshake, or an
    /// alert the other side sent after it (TLS 1.3 checks client certificates then).
    static func isTLSFailure(_ error: any Error) -> Bool {
        if let ssl = error as? NIOSSLError, case .handshakeFailed = ssl { return true }
        return error is BoringSSLError
    }
}
