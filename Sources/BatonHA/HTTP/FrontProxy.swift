import AsyncHTTPClient
import BatonCore
import BatonReplication
import BatonSystem
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// The front proxy on every node: to the local app on the holder, to the
/// holder's proxy on a standby, and while no holder serves (hand-over,
/// failover) it holds requests up to the hold timeout, then answers 503
/// with `Retry-After`. Streams bodies both ways, keeps end-to-end headers,
/// appends `X-Forwarded-For`. A request is retried on another route only
/// while none of its body has been sent.
struct FrontProxy {
    let node: Node
    static let hopHeader = HTTPField.Name("X-Baton-Hops")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade",
    ]

    func responder() -> CallbackResponder<ClientRequestContext> {
        let node = self.node
        return CallbackResponder { request, context in
            try await FrontProxy.forward(request, context: context, node: node)
        }
    }

    static func forward(_ request: Request, context: ClientRequestContext, node: Node) async throws -> Response {
        let hops = request.headers[hopHeader].flatMap { Int($0) } ?? 0
        let deadline = node.clock.now() + node.config.holdTimeoutMilliseconds
        let flag = TrackedBody<RequestBody>.Flag()
        let body = TrackedBody(base: request.body, flag: flag)
        var lastError: Error?
        while true {
            let seen = node.changes.version
            let route = node.route(hops: hops)
            let target: String
            switch route {
            case .hold:
                let now = node.clock.now()
                guard now < deadline else {
                    let why = lastError.map { "last error: \($0)" } ?? "hand-over or failover in progress"
                    let role = node.snapshot.role.rawValue
                    return unavailable(
                        "\(node.config.name): no node is serving the app right now (\(why); role \(role), hops \(hops))"
                    )
                }
                // Held until the node's state changes (a holder serves, a takeover is answered).
                await node.changes.wait(from: seen, timeoutMilliseconds: deadline - now)
                try Task.checkCancellation()
                continue
            case .local(let upstream):
                target = upstream
            case .peer(let proxy):
                // A request that was already forwarded to us comes back only while the
                // nodes disagree about the holder: give the hand-over a moment to settle.
                if hops > 0 { try await node.clock.sleep(milliseconds: 50) }
                target = proxy
            }
            let isLocal = if case .local = route { true } else { false }
            var outgoing = HTTPClientRequest(url: target + request.uri.description)
            // A peer's proxy is verified against tls.ca; the local app keeps the client's defaults.
            if !isLocal { outgoing.tlsConfiguration = node.tls?.clientConfiguration(for: target) }
            outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
            for field in request.headers where !hopByHop.contains(field.name.canonicalName) {
                if field.name == hopHeader || field.name == forwardedFor { continue }
                outgoing.headers.add(name: field.name.rawName, value: field.value)
            }
            let client = context.remoteAddress?.ipAddress ?? "unknown"
            let chain = request.headers[forwardedFor].map { "\($0), \(client)" } ?? client
            outgoing.headers.add(name: forwardedFor.rawName, value: chain)
            if !isLocal { outgoing.headers.add(name: hopHeader.rawName, value: String(hops + 1)) }
            let length = request.headers[.contentLength].flatMap { Int($0) }
            let chunked = request.headers[.transferEncoding] != nil
            if length != nil || chunked {
                outgoing.body = .stream(body, length: length.map { .known(Int64($0)) } ?? .unknown)
            }

            let upstream: HTTPClientResponse
            do {
                upstream = try await PeerClient.http.execute(outgoing, timeout: .seconds(300))
            } catch {
                if isLocal { node.requests.leave() }
                lastError = error
                let replayable = !flag.started.load(ordering: .relaxed) || (length == nil && !chunked)
                if replayable, isSafeToRetry(request.method, error), node.clock.now() < deadline {
                    // A connection refused changes no state anyone signals: try again shortly.
                    try await node.clock.sleep(milliseconds: 20)
                    continue
                }
                return Response(
                    status: .badGateway, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: "bad gateway: \(target) failed: \(error)\n")))
            }
            var headers = HTTPFields()
            for (name, value) in upstream.headers where !hopByHop.contains(name.lowercased()) {
                if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
            }
            if isLocal, !node.config.readMethods.contains(request.method.rawValue) {
                // A write: its response leaves only once it may be acknowledged, with its TXID.
                switch await WriteAcknowledger(node: node).acknowledge() {
                case .acknowledged(let txids):
                    addTransactionHeaders(&headers, txids: txids, addressed: node.databases[0], of: node)
                case .unconfirmed(let txids, let reason):
                    node.requests.leave()
                    // Read the app's answer to its end (bounded) so the connection is released cleanly.
                    let body = upstream.body
                    Task { _ = try? await body.collect(upTo: 1 << 20) }
                    var response = unavailable(
                        "\(node.config.name): the app answered, but its write is not confirmed: \(reason). It is committed on the holder and may or may not survive a failover."
                    )
                    if let txid = txids?[node.databases[0].name] { response.headers[transactionHeader] = String(txid) }
                    return response
                }
            }
            let responseBody = upstream.body
            let contentLength = upstream.headers.first(name: "content-length").flatMap(Int.init)
            return Response(
                status: HTTPResponse.Status(
                    code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase),
                headers: headers,
                body: ResponseBody(contentLength: contentLength) { writer in
                    defer { if isLocal { node.requests.leave() } }
                    for try await chunk in responseBody { try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
        }
    }

    /// The TXID a write response carries, at or after the write's own
    /// transaction, in the database the request addressed (the relay's
    /// `?db=`; the group's first database through the front proxy).
    static let transactionHeader = HTTPField.Name("X-Baton-TXID")!
    /// In a group of several databases: every database's TXID, `name=txid,…`.
    static let groupTransactionsHeader = HTTPField.Name("X-Baton-TXIDs")!
    /// The first database's TXID as a cookie, for browsers to send back on reads.
    static let transactionCookie = "baton_txid"

    /// Adds the write's TXIDs as headers and a cookie (read-your-writes).
    static func addTransactionHeaders(
        _ headers: inout HTTPFields, txids: [String: UInt64], addressed: NodeDatabase, of node: Node
    ) {
        let txid = txids[addressed.name] ?? 0
        headers[transactionHeader] = String(txid)
        if node.databases.count > 1 {
            headers[groupTransactionsHeader] = node.databases.map { "\($0.name)=\(txids[$0.name] ?? 0)" }
                .joined(separator: ",")
        }
        if addressed === node.databases[0] {
            headers.append(
                HTTPField(name: .setCookie, value: "\(transactionCookie)=\(txid); Path=/; HttpOnly; SameSite=Lax"))
        }
    }

    /// The TXID of `database` a read asks to see: its entry in
    /// `X-Baton-TXIDs`, else `X-Baton-TXID`, else (for the first database)
    /// the `baton_txid` cookie.
    static func requiredTXID(_ headers: HTTPFields, database: NodeDatabase, of node: Node) -> UInt64? {
        if let list = headers[groupTransactionsHeader] {
            for pair in list.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == database.name {
                    return UInt64(parts[1].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        if let text = headers[transactionHeader] { return UInt64(text) }
        guard database === node.databases[0] else { return nil }
        for cookies in headers[values: .cookie] {
            for pair in cookies.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == transactionCookie {
                    return UInt64(parts[1].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return nil
    }

    /// Whether a failed attempt may be sent again: idempotent methods
    /// always (nothing of their body was sent), others only when the
    /// connection itself could not be made (the upstream never saw them).
    static func isSafeToRetry(_ method: HTTPRequest.Method, _ error: Error) -> Bool {
        if [.get, .head, .options, .put, .delete].contains(method) { return true }
        return !wasSent(error)
    }

    /// False when the connection was never made (refused, unreachable, not
    /// established in time, or no pooled connection became free), so the
    /// request cannot have arrived; anything after connecting (a reset, a
    /// read timeout, a closed connection) may have been sent.
    static func wasSent(_ error: Error) -> Bool {
        switch error {
        case is NIOConnectionError:
            return false
        case let error as HTTPClientError:
            return !(error == .connectTimeout || error == .getConnectionFromPoolTimeout)
        case ChannelError.connectTimeout:
            return false
        case let error as IOError:
            return error.errnoCode != ECONNREFUSED
        default:
            return true
        }
    }

    static func unavailable(_ message: String) -> Response {
        Response(
            status: .serviceUnavailable, headers: [.contentType: "text/plain", .retryAfter: "1"],
            body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
