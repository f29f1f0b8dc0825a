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
/// - `POST /write?key=K` inserts K (once; a repeated key is a conflict) and answers
///   `{"id","key","epoch","at"}` (`at`: commit time, ms since the Unix epoch).
/// - `GET /count` the number of rows; `GET /keys` every key, one per line; `GET /health` 200.
public enum DemoApp {
    /// Serves on `host:port` with the database at `path` until SIGTERM.
    public static func run(host: String, port: Int, databasePath: String, epoch: String) async throws {
        let connection = try SQLiteConnection(path: databasePath, create: true)
        connection.setBusyTimeout(milliseconds: 10_000)
        try connection.execute(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE IF NOT EXISTS writes(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, epoch TEXT, at TEXT DEFAULT CURRENT_TIMESTAMP)"
        )
        let database = Mutex(UncheckedBox(connection))
        let router = Router()
        router.get("/health") { _, _ in "ok\n" }
        router.get("/count") { _, _ in
            try database.withLock { try $0.value.scalar("SELECT count(*) FROM writes") ?? "0" } + "\n"
        }
        router.get("/keys") { _, _ in
            let rows = try database.withLock { try $0.value.rows("SELECT key FROM writes ORDER BY id") }
            return rows.compactMap { $0.first ?? nil }.joined(separator: "\n") + "\n"
        }
        router.post("/write") { request, _ -> Response in
            guard let key = request.uri.queryParameters["key"].map(String.init), !key.isEmpty,
                key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                return Response(
                    status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "key=[A-Za-z0-9_-]+ is required\n"))
                )
            }
            let id: String? = try database.withLock { box in
                let sql = "INSERT INTO writes(key, epoch) VALUES ('\(key)', '\(epoch)') ON CONFLICT(key) DO NOTHING"
                try box.value.execute(sql)
                return try box.value.scalar("SELECT id FROM writes WHERE key = '\(key)' AND changes() > 0")
            }
            guard let id else {
                return Response(status: .conflict, body: .init(byteBuffer: ByteBuffer(string: "\(key) exists\n")))
            }
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
}
