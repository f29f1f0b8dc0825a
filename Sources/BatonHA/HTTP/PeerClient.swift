import AsyncHTTPClient
import BatonCore
import Foundation
import NIOCore
import NIOHTTP1

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
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await PeerClient.http.execute(request, timeout: .milliseconds(timeoutMilliseconds))
        let buffer = try await response.body.collect(upTo: maxBytes)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }
}
