import BatonCore
import BatonReplication
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The node API: health endpoints with Patroni's meanings (`/primary`,
/// `/replica`, `/health`), `/status`, `/metrics`, and the node-to-node and
/// operator endpoints (`/stream`, `/locate`, `/handoff`, `/takeover`), which
/// require the bearer token when one is configured.
struct NodeAPI {
    let node: Node

    func router() -> Router<ClientRequestContext> {
        let router = Router(context: ClientRequestContext.self)
        let node = self.node
        router.get("/health") { _, _ in
            NodeAPI.json(.ok, ["status": "ok", "role": node.status().role])
        }
        router.get("/primary") { _, _ in
            let status = node.status()
            let serving = node.snapshot.serving && status.role == "holder" && node.lease.mayWrite
            return try NodeAPI.encoded(serving ? .ok : .serviceUnavailable, status)
        }
        router.get("/replica") { request, _ in
            let status = node.status()
            var healthy = status.role == "standby" && status.streaming
            if healthy, let bound = request.uri.queryParameters["lag"].map(String.init) {
                if let transactions = UInt64(bound) {
                    healthy = (status.lagTransactions ?? .max) <= transactions
                } else if let milliseconds = DurationText.milliseconds(bound) {
                    healthy = (status.lagMilliseconds ?? .max) <= milliseconds
                } else {
                    return NodeAPI.json(
                        .badRequest, ["error": "lag must be a number of transactions or a duration like 5s"])
                }
            }
            return try NodeAPI.encoded(healthy ? .ok : .serviceUnavailable, status)
        }
        router.get("/status") { _, _ in try NodeAPI.encoded(.ok, node.status(countDiverged: true)) }
        RelayAPI(node: node).register(on: router)
        router.get("/metrics") { _, _ in
            let body = node.metrics.render(
                node.status(countDiverged: true), certificateNotValidAfter: node.tls?.material.notValidAfter)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/stream") { request, _ in
            if let refused = NodeAPI.refuse(request, node) { return refused }
            return await NodeAPI.stream(request, node)
        }
        router.get("/locate") { request, _ in
            if let refused = NodeAPI.refuse(request, node) { return refused }
            guard let text = request.uri.queryParameters["checksum"], let checksum = UInt64(text, radix: 16) else {
                return NodeAPI.json(.badRequest, ["error": "checksum (hex) is required"])
            }
            let database: NodeDatabase
            switch NodeAPI.database(request, node) {
            case .success(let found): database = found
            case .failure(let refused): return refused.response
            }
            // A node still taking over has no window yet: "not found" would send the asker
            // to set its copy aside and rebuild from the store; it asks again instead.
            guard NodeAPI.isStreaming(node) else {
                return NodeAPI.json(.serviceUnavailable, ["error": "\(node.config.name) is not streaming (yet)"])
            }
            var response = NodeAPI.json(.notFound, ["error": "no transaction in the holder's window has that checksum"])
            if let txid = database.feed.locate(checksum: checksum) {
                response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: String(txid))))
            }
            NodeAPI.addStreamHeaders(&response, node, database)
            return response
        }
        router.post("/handoff") { request, context in
            if let refused = NodeAPI.refuse(request, node) { return refused }
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            var target: String?
            if body.readableBytes > 0 {
                guard
                    let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                else {
                    return NodeAPI.json(.badRequest, ["error": "the body must be a JSON object like {\"to\": \"b\"}"])
                }
                target = object["to"] as? String
                if let target, !node.config.peers.contains(where: { $0.name == target }) {
                    return NodeAPI.json(.badRequest, ["error": "\(target) is not a peer of \(node.config.name)"])
                }
            }
            return try await NodeAPI.handoff(node, to: target)
        }
        router.post("/takeover") { request, _ in
            if let refused = NodeAPI.refuse(request, node) { return refused }
            // The proxy holds requests from now on (not when the driver gets to it): the old
            // holder forwards its held requests here as soon as this answer arrives.
            node.inbox.send(.takeover)
            return NodeAPI.json(.accepted, ["status": "trying to take the baton"])
        }
        return router
    }

    static func isStreaming(_ node: Node) -> Bool {
        let role = node.snapshot.role
        return role == .holder || role == .handingOver
    }

    /// 401 unless the request carries the configured token: `Authorization:
    /// Bearer <token>`, or HTTP basic auth with the token as the password
    /// (any user name), as rqlite clients send it.
    static func refuse(_ request: Request, _ node: Node) -> Response? {
        guard let token = node.config.token else { return nil }
        let given = request.headers[.authorization] ?? ""
        var presented = ""
        if given.hasPrefix("Bearer ") {
            presented = String(given.dropFirst(7))
        } else if given.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(given.dropFirst(6))),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            presented = String(text[text.index(after: colon)...])
        }
        guard !sameSecret(presented, token) else { return nil }
        var response = json(
            .unauthorized, ["error": "a valid token is required (Bearer, or basic auth with the token as password)"])
        // Only Bearer is announced: a Basic challenge makes some clients (Foundation's
        // URLSession on Linux) wait for credentials instead of returning the 401.
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// Compares without an early exit, so timing does not reveal the secret.
    static func sameSecret(_ given: String, _ expected: String) -> Bool {
        var difference = UInt8(given.utf8.count == expected.utf8.count ? 0 : 1)
        for (a, b) in zip(given.utf8, expected.utf8) { difference |= a ^ b }
        return difference == 0
    }

    /// A request for an unknown database, answered.
    struct UnknownDatabase: Error {
        var response: Response
    }

    /// The database a node-to-node request names with `?db=` (the first of the group without it).
    static func database(_ request: Request, _ node: Node) -> Result<NodeDatabase, UnknownDatabase> {
        let name = request.uri.queryParameters["db"].map(String.init)
        if let database = node.database(named: name) { return .success(database) }
        let known = node.databases.map(\.name).joined(separator: ", ")
        return .failure(
            UnknownDatabase(
                response: json(
                    .notFound,
                    ["error": "\(node.config.name) holds no database named \(name ?? "") (it holds \(known))"])))
    }

    static func addStreamHeaders(_ response: inout Response, _ node: Node, _ database: NodeDatabase) {
        let epoch = node.snapshot.epoch
        // The start of *this* epoch only: a node taking over still holds the start of the
        // epoch it followed, and paired with its new epoch that would fence everything after it.
        let start = isStreaming(node) ? database.state.withLock { $0.epochStartTXID } : 0
        response.headers[HTTPField.Name("X-Baton-Epoch")!] = String(epoch)
        response.headers[HTTPField.Name("X-Baton-Epoch-Start")!] = String(start)
        response.headers[HTTPField.Name("X-Baton-TXID")!] = String(database.feed.latest.txid)
    }

    /// `GET /stream?db=NAME&after=T&checksum=C&node=N`: what follows T in
    /// that database, waiting up to a second for news.
    static func stream(_ request: Request, _ node: Node) async -> Response {
        let query = request.uri.queryParameters
        guard let after = query["after"].flatMap({ UInt64(String($0)) }),
            let checksum = query["checksum"].flatMap({ UInt64(String($0), radix: 16) })
        else { return json(.badRequest, ["error": "after (TXID) and checksum (hex) are required"]) }
        let database: NodeDatabase
        switch NodeAPI.database(request, node) {
        case .success(let found): database = found
        case .failure(let refused): return refused.response
        }
        let peer = query["node"].map(String.init)
        guard isStreaming(node) else {
            return json(.serviceUnavailable, ["error": "\(node.config.name) is not the holder"])
        }
        let feed = database.feed
        var answer = feed.answer(after: after, checksum: checksum)
        // Only a position whose checksum is this holder's state at that TXID confirms
        // anything: a diverged copy at a high TXID must not count for sync mode.
        if let peer, answer.confirmsPosition {
            feed.acknowledge(peer: peer, txid: after)
            node.progress.signal()  // writes waiting for this standby's confirmation
            node.driverWake.signal()  // a hand-over waiting for it
        }
        if answer == .upToDate || answer == .unavailable {
            await feed.wait(after: after, timeoutMilliseconds: 1000)
            answer = feed.answer(after: after, checksum: checksum)
        }
        var response: Response
        switch answer {
        case .transactions(let batch):
            var body: [UInt8] = []
            for entry in batch { FramedBatch.append(entry.ltx, to: &body) }
            node.metrics.streamedTransactions.increment(by: Int64(batch.count))
            node.metrics.streamedBytes.increment(by: Int64(body.count))
            response = Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .upToDate:
            response = Response(status: .ok)
        case .unavailable:
            response = json(.serviceUnavailable, ["error": "the holder's stream is restarting"])
        case .diverged(let reason):
            response = Response(status: .conflict, body: .init(byteBuffer: ByteBuffer(string: reason)))
        case .gone(let reason):
            response = Response(status: .gone, body: .init(byteBuffer: ByteBuffer(string: reason)))
        }
        addStreamHeaders(&response, node, database)
        return response
    }

    /// `POST /handoff`: asks the driver for the hand-over and waits for its outcome.
    static func handoff(_ node: Node, to target: String?) async throws -> Response {
        let reply = Reply<Result<Node.HandoffReport, BatonError>>(clock: node.clock)
        node.inbox.send(.handoff(to: target, reply: reply))
        let config = node.config
        let limit =
            config.handoffTimeoutMilliseconds + config.appStopTimeoutMilliseconds + config.holdTimeoutMilliseconds
        switch await reply.wait(timeoutMilliseconds: limit) {
        case .success(let report):
            return try encoded(.ok, report)
        case .failure(let error):
            return json(error.code == .usage ? .conflict : .serviceUnavailable, ["error": error.message])
        case nil:
            return json(.gatewayTimeout, ["error": "the hand-over did not finish in time; see the node's log"])
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data) + [10])))
    }

    static func encoded<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(try encoder.encode(value)) + [10])))
    }
}
