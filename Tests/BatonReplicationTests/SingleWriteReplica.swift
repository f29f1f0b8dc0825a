import BatonReplication
import BatonSQLite
import BatonStore
import BatonSystem

/// A replica of `<directory>/app.db` in `store` made of one file per write:
/// a table `t`, `writes` single-row commits each stepped at once (batch
/// window 0), then a clean finish. `options` may change the rest.
func replicateSingleWrites(
    in directory: String, to store: any ObjectStore, writes: Int, options: ReplicatorOptions = ReplicatorOptions()
) async throws {
    try FileSystem.makeDirectories(directory)
    let app = try SQLiteConnection(path: directory + "/app.db", create: true)
    defer { app.close() }
    try app.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    var options = options
    options.batchWindowMilliseconds = 0
    let replicator = try Replicator(databasePath: directory + "/app.db", store: store, options: options)
    defer { replicator.close() }
    try await replicator.start()
    for round in 1...writes {
        try app.execute("INSERT INTO t(v) VALUES ('\(round)')")
        try await replicator.step()
    }
    try await replicator.finish()
}
