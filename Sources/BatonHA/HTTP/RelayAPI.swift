import BatonCore
import BatonReplication
import BatonSQLite
import BatonSystem
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// The relay API on every node's API port, in rqlite's shapes:
/// `POST /db/execute`, `GET|POST /db/query`, `POST /db/request`. The
/// holder runs statements on its own connection beside the app's (writes
/// wait for their acknowledgement as the proxy's do); a standby answers
/// `level=none` reads from its copy and forwards everything else to the
/// holder (or redirects with `?redirect`).
struct RelayAPI {
    let node: Node

    /// Query-string options the relay understands.
    static let options: Set<String> = [
        "q", "pretty", "timings", "transaction", "level", "freshness", "redirect", "associative", "wait", "db",
    ]

    /// On a 503 whose statements did not run anywhere (a forwarding node may send them again).
    static let notRun = HTTPField.Name("X-Baton-Not-Run")!

    /// Read consistency, as rqlite names it.
    enum Level: String, Sendable {
        /// The node's own copy, possibly stale (bounded by `freshness` and the client's TXID).
        case none
        /// On the holder.
        case weak
        /// On the holder, which must prove it still holds the lease.
        case strong
    }

    /// One request, parsed.
    struct Call: Sendable {
        /// The database the statements run on (`?db=`, default the group's first).
        var database: NodeDatabase
        var kind: StatementRunner.Kind
        var statements: [RelayStatement]
        var transaction: Bool
        var level: Level
        var freshnessMilliseconds: Int64?
        var redirect: Bool
        var response: RelayResponse
        var requiredTXID: UInt64?
        var hops: Int
        /// The request body as received (forwarded as is).
        var body: [UInt8]?
    }

    func register(on router: Router<ClientRequestContext>) {
        let relay = self
        router.post("/db/execute") { request, context in await relay.handle(request, context, .execute) }
        router.get("/db/query") { request, context in await relay.handle(request, context, .query) }
        router.post("/db/query") { request, context in await relay.handle(request, context, .query) }
        router.post("/db/request") { request, context in await relay.handle(request, context, .request) }
    }

    func handle(_ request: Request, _ context: ClientRequestContext, _ kind: StatementRunner.Kind) async -> Response {
        if let refused = NodeAPI.refuse(request, node) { return refused }
        let pretty = RelayAPI.formFields(request.uri.query)["pretty"] != nil
        let call: Call
        do {
            call = try await parse(request, kind)
        } catch let error as BatonError {
            let status: HTTPResponse.Status = error.code == .tooLarge ? .contentTooLarge : .badRequest
            return RelayAPI.answer(status, RelayResponse.error(error.message, pretty: pretty))
        } catch {
            return RelayAPI.answer(.badRequest, RelayResponse.error("\(error)", pretty: pretty))
        }
        // Limited where the client connected; a forwarded request was counted there.
        if call.hops == 0,
            case .refused(let wait) = node.admitRelayRequest(from: context.remoteAddress?.ipAddress ?? "")
        {
            var response = RelayAPI.answer(
                .tooManyRequests,
                RelayResponse.error(
                    "rate limit: more than relay.rateLimit requests a second from this client", pretty: pretty))
            response.headers[.retryAfter] = String(max(1, (wait + 999) / 1000))
            return response
        }
        node.metrics.relayRequests.increment()
        let deadline = node.clock.now() + node.config.holdTimeoutMilliseconds
        while true {
            let seen = node.changes.version
            let state = node.snapshot
            let (role, holderAPI) = (state.role, state.holderAPI)
            // Counted in (unless a hand-over closed the gate), so a hand-over waits for these statements.
            if role == .holder, node.lease.mayWrite, node.requests.enter() {
                defer { node.requests.leave() }
                return await runOnHolder(call)
            }
            if role == .standby, call.kind == .query, call.level == .none, let answer = await runOnCopy(call) {
                return answer
            }
            if role == .standby || role == .starting, let holderAPI, holderAPI != node.config.advertisedAPI {
                if call.redirect {
                    var response = RelayAPI.answer(.movedPermanently, [])
                    response.headers[.location] = holderAPI + request.uri.description
                    return response
                }
                if call.hops > 0 {
                    // Forwarded to us, yet we forward too: the nodes disagree about the holder
                    // for a moment (a hand-over). Let it settle; past the hop limit, hand the
                    // request back at once so the first node retries it (nothing ran).
                    guard call.hops < Node.maxHops else { return RelayAPI.notRunYet(node, role, pretty) }
                    try? await node.clock.sleep(milliseconds: 50)
                }
                if let answer = await forward(request, call, to: holderAPI) { return answer }
                // The holder could not be reached: nothing anyone signals changes that; try again shortly.
                let now = node.clock.now()
                guard now < deadline else { return RelayAPI.notRunYet(node, role, pretty) }
                try? await node.clock.sleep(milliseconds: min(20, deadline - now))
                continue
            }
            let now = node.clock.now()
            guard now < deadline else { return RelayAPI.notRunYet(node, role, pretty) }
            // No holder serves yet: wait until the node's state changes.
            await node.changes.wait(from: seen, timeoutMilliseconds: deadline - now)
            if Task.isCancelled { return RelayAPI.notRunYet(node, role, pretty) }
        }
    }

    /// 503 for statements that ran nowhere: no holder serves (yet).
    static func notRunYet(_ node: Node, _ role: NodeStateMachine.Role, _ pretty: Bool) -> Response {
        var response = RelayAPI.answer(
            .serviceUnavailable,
            RelayResponse.error(
                "\(node.config.name): no node holds the baton right now (role \(role.rawValue)); try again",
                pretty: pretty),
            retryAfter: true)
        response.headers[RelayAPI.notRun] = "1"
        return response
    }

    /// Runs the statements here, the holder, on one of its open relay
    /// connections; a write's answer waits for its acknowledgement.
    private func runOnHolder(_ call: Call) async -> Response {
        let path = call.database.path
        let started = MonotonicClock.nanoseconds()
        let outcome: (result: [RelayResult], changed: Bool)
        let connections = node.relayConnections
        do {
            outcome = try await BlockingWork.run {
                try connections.run(path: path, readOnly: call.kind == .query) { runner in
                    runner.run(call.statements, kind: call.kind, transaction: call.transaction)
                }
            }
        } catch is RelayConnections.Closed {
            // Stopped holding between the check and the run: nothing ran, so a forwarding node may retry.
            return RelayAPI.notRunYet(node, node.snapshot.role, call.response.pretty)
        } catch {
            return RelayAPI.answer(.serviceUnavailable, RelayResponse.error("\(error)", pretty: call.response.pretty))
        }
        let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
        var headers = HTTPFields()
        if outcome.changed {
            switch await WriteAcknowledger(node: node).acknowledge() {
            case .acknowledged(let txids):
                FrontProxy.addTransactionHeaders(&headers, txids: txids, addressed: call.database, of: node)
            case .unconfirmed(let txids, let reason):
                if let txid = txids?[call.database.name] { headers[FrontProxy.transactionHeader] = String(txid) }
                var response = RelayAPI.answer(
                    .serviceUnavailable,
                    RelayResponse.error(
                        "the statements ran on the holder but their transaction is not confirmed: \(reason)",
                        pretty: call.response.pretty))
                response.headers.append(contentsOf: headers)
                return response
            }
        }
        var response = RelayAPI.answer(.ok, call.response.encode(outcome.result, seconds: seconds))
        response.headers.append(contentsOf: headers)
        return response
    }

    /// A `level=none` read from a standby's copy; nil when the copy may not
    /// answer it (unknown position, staler than `freshness`, or behind the
    /// client's TXID after waiting `relay.readWait`).
    private func runOnCopy(_ call: Call) async -> Response? {
        let now = node.clock.now()
        let database = call.database
        if let freshness = call.freshnessMilliseconds {
            let (contact, caughtUp, local, holder) = database.state.withLock {
                ($0.lastContact, $0.lastCaughtUp, $0.localTXID ?? 0, $0.holderTXID ?? 0)
            }
            if contact == .min || now - contact > freshness { return nil }
            if local < holder, caughtUp == .min || now - caughtUp > freshness { return nil }
        }
        if let required = call.requiredTXID {
            let deadline = now + node.config.relayReadWaitMilliseconds
            while true {
                let seen = node.changes.version
                if (database.state.withLock { $0.localTXID } ?? 0) >= required { break }
                let left = deadline - node.clock.now()
                guard left > 0, !Task.isCancelled else { return nil }
                // The stream signals every batch it applies.
                await node.changes.wait(from: seen, timeoutMilliseconds: left)
            }
        }
        let path = database.path
        let started = MonotonicClock.nanoseconds()
        let results: [RelayResult]? = try? await NIOThreadPool.singleton.runIfActive {
            try database.copyGate.withLock { readable -> [RelayResult]? in
                guard readable else { return nil }
                let runner = try StatementRunner(
                    path: path, readOnly: true, immutable: true, busyTimeoutMilliseconds: 0)
                return runner.run(call.statements, kind: .query, transaction: call.transaction)
            }
        }
        guard let results else { return nil }
        let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
        return RelayAPI.answer(.ok, call.response.encode(results, seconds: seconds))
    }

    /// Sends the request on to the holder's API; nil when it cannot be reached.
    private func forward(_ request: Request, _ call: Call, to holderAPI: String) async -> Response? {
        var extra = [(FrontProxy.hopHeader.rawName, String(call.hops + 1))]
        if let required = call.requiredTXID { extra.append((FrontProxy.transactionHeader.rawName, String(required))) }
        let method: HTTPMethod = call.body == nil ? .GET : .POST
        let reply: PeerClient.Reply
        do {
            reply = try await node.peers.send(
                method, holderAPI + request.uri.description, body: call.body,
                timeoutMilliseconds: node.config.holdTimeoutMilliseconds + node.config.relayBusyTimeoutMilliseconds,
                extraHeaders: extra)
        } catch {
            // Sent again only when it cannot have run: a read, or a connection never made.
            if call.kind == .query || !FrontProxy.wasSent(error) {
                return nil
            }
            return RelayAPI.answer(
                .badGateway,
                RelayResponse.error(
                    "the holder at \(holderAPI) failed during the request (\(error)); the statements may or may not have run",
                    pretty: call.response.pretty))
        }
        // Nothing ran there (no holder serving yet): try again (or hold) like the proxy does.
        if reply.status == 503, reply.headers.first(name: RelayAPI.notRun.rawName) != nil { return nil }
        var response = RelayAPI.answer(HTTPResponse.Status(code: reply.status), reply.body)
        for name in [
            FrontProxy.transactionHeader.rawName, FrontProxy.groupTransactionsHeader.rawName, "Set-Cookie",
            "WWW-Authenticate",
        ] {
            for value in reply.headers[name] {
                if let field = HTTPField.Name(name) { response.headers.append(HTTPField(name: field, value: value)) }
            }
        }
        return response
    }

    /// Reads the options, the body (or `q`) and the client's TXID.
    private func parse(_ request: Request, _ kind: StatementRunner.Kind) async throws -> Call {
        let query = RelayAPI.formFields(request.uri.query)
        for key in query.keys.sorted() where !RelayAPI.options.contains(String(key)) {
            throw BatonError(
                .usage, "unknown parameter \(key) (known: \(RelayAPI.options.sorted().joined(separator: ", ")))")
        }
        let database: NodeDatabase
        if let name = query["db"] {
            guard let named = node.database(named: name) else {
                let known = node.databases.map(\.name).joined(separator: ", ")
                throw BatonError(.usage, "no database named '\(name)' in this group (db= one of: \(known))")
            }
            database = named
        } else {
            database = node.databases[0]
        }
        let levelText = query["level"] ?? "weak"
        guard let level = Level(rawValue: levelText) else {
            throw BatonError(.usage, "level must be none, weak or strong, got '\(levelText)'")
        }
        var freshness: Int64?
        if let text = query["freshness"] {
            guard let milliseconds = DurationText.milliseconds(text) else {
                throw BatonError(.usage, "freshness must be a duration like 1s or 500ms, got '\(text)'")
            }
            freshness = milliseconds
        }
        let statements: [RelayStatement]
        var raw: [UInt8]?
        if request.method == .get {
            guard let sql = query["q"], !sql.isEmpty else {
                throw BatonError(.usage, "GET /db/query needs the statement in q=")
            }
            statements = [RelayStatement(sql: sql)]
        } else {
            let limit = node.config.relayMaxBodyBytes
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                throw BatonError(.tooLarge, "the body is \(length) bytes; the limit (relay.maxBodyBytes) is \(limit)")
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: limit)
            } catch {
                throw BatonError(.tooLarge, "the body is larger than the limit (relay.maxBodyBytes) of \(limit) bytes")
            }
            raw = Array(body.readableBytesView)
            statements = try RelayStatement.parse(body: raw ?? [])
        }
        return Call(
            database: database, kind: kind, statements: statements, transaction: query["transaction"] != nil,
            level: level,
            freshnessMilliseconds: freshness, redirect: query["redirect"] != nil,
            response: RelayResponse(
                timings: query["timings"] != nil, pretty: query["pretty"] != nil,
                associative: query["associative"] != nil),
            requiredTXID: FrontProxy.requiredTXID(request.headers, database: database, of: node),
            hops: request.headers[FrontProxy.hopHeader].flatMap { Int($0) } ?? 0, body: raw)
    }

    /// The query string as form fields: `+` is a space, `%XX` escapes are
    /// decoded, and a flag without `=` (`?transaction`) is present with an empty value.
    static func formFields(_ query: String?) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func answer(_ status: HTTPResponse.Status, _ body: [UInt8], retryAfter: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if retryAfter { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
