import BatonCore
import BatonSQLite
import BatonSystem
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The small app `baton demo` runs under the node supervisor: an HTTP
/// counter that writes each request into SQLite (WAL mode), so failover
/// and hand-over can be watched and checked. Not for production use.
///
/// With several databases (a group, as a Rails 8 app has: primary, cache,
/// queue, cable) each write also goes into every other database, each in its
/// own transaction, the way one Rails request inserts a row, enqueues a job
/// and writes the cache: an acknowledged write must be in all of them.
///
/// - `POST /write?key=K` inserts K (once; a repeated key is a conflict) and answers
///   `{"id","key","epoch","at"}` (`at`: commit time, ms since the Unix epoch).
/// - `GET /count[?db=NAME]` the number of rows; `GET /keys[?db=NAME]` every
///   key, one per line (default: the first database); `GET /health` 200.
enum DemoApp {
    /// One database the app writes: its name in the group and its connection.
    struct Database {
        var name: String
        var connection: SQLiteConnection
    }

    /// Serves on `host:port` with `databases` (name and path; the first is
    /// the one `/write` answers from) until SIGTERM.
    static func run(host: String, port: Int, databases: [(name: String, path: String)], epoch: String) async throws {
        var opened: [Database] = []
        for (name, path) in databases {
            let connection = try SQLiteConnection(path: path, create: true)
            connection.setBusyTimeout(milliseconds: 10_000)
            try connection.execute(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS writes(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, epoch TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP)"
            )
            opened.append(Database(name: name, connection: connection))
        }
        let state = Mutex(UncheckedBox(opened))
        let router = Router()
        router.get("/health") { _, _ in "ok\n" }
        router.get("/count") { request, _ -> Response in
            let name = request.uri.queryParameters["db"].map(String.init)
            let count = try state.withLock { box -> String? in
                guard let database = pick(box.value, name) else { return nil }
                return try database.connection.scalar("SELECT count(*) FROM writes") ?? "0"
            }
            guard let count else { return text(.notFound, "no database \(name ?? "")\n") }
            return text(.ok, count + "\n")
        }
        router.get("/keys") { request, _ -> Response in
            let name = request.uri.queryParameters["db"].map(String.init)
            let rows = try state.withLock { box -> [[String?]]? in
                guard let database = pick(box.value, name) else { return nil }
                return try database.connection.rows("SELECT key FROM writes ORDER BY id")
            }
            guard let rows else { return text(.notFound, "no database \(name ?? "")\n") }
            return text(.ok, rows.compactMap { $0.first ?? nil }.joined(separator: "\n") + "\n")
        }
        router.post("/write") { request, _ -> Response in
            guard let key = request.uri.queryParameters["key"].map(String.init), !key.isEmpty,
                key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                return text(.badRequest, "key=[A-Za-z0-9_-]+ is required\n")
            }
            let id: String? = try state.withLock { box in
                let sql = "INSERT INTO writes(key, epoch) VALUES ('\(key)', '\(epoch)') ON CONFLICT(key) DO NOTHING"
                let first = box.value[0].connection
                try first.execute(sql)
                guard let id = try first.scalar("SELECT id FROM writes WHERE key = '\(key)' AND changes() > 0")
                else { return nil }
                for database in box.value.dropFirst() { try database.connection.execute(sql) }
                return id
            }
            guard let id else { return text(.conflict, "\(key) exists\n") }
            let committedAt = Int64(Date().timeIntervalSince1970 * 1000)
            let body = "{\"id\":\(id),\"key\":\"\(key)\",\"epoch\":\(epoch),\"at\":\(committedAt)}\n"
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        var logger = Logger(label: "demo-app")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: logger)
        try await app.runService()
    }

    /// The database called `name` (nil: the first).
    private static func pick(_ databases: [Database], _ name: String?) -> Database? {
        guard let name else { return databases.first }
        return databases.first { $0.name == name }
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
