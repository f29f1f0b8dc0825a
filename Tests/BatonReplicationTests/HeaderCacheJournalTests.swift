import BatonReplication
import BatonSystem
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A node that restarts must not read every header of its replica again
/// to rebuild its copy: what it knew is kept in a file, and the file never
/// answers for a file that changed, for another store, or from a torn line.
@Suite struct HeaderCacheJournalTests {
    let directory = "/tmp/baton-header-journal-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let store = "s3://bucket/app"
    var path: String { directory + "/app.db-baton/ltx-headers" }

    func entry(_ epoch: UInt64) -> ReplicaHeaderCache.Entry {
        .init(timestampMilliseconds: 1_700_000_000_000 + Int64(epoch), epoch: epoch)
    }

    @Test func aRestartedProcessKnowsWhatTheLastOneRead() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = ReplicaHeaderCache(capacity: 100)
        try before.keep(inFile: path, for: store)
        before.remember(entry(1), store: store, key: "ltx/0/a.ltx", etag: "\"e1\"")
        before.remember(entry(2), store: store, key: "ltx/0/b.ltx", etag: "\"e2\"")
        before.remember(entry(9), store: "s3://bucket/other", key: "ltx/0/c.ltx", etag: "\"e3\"")

        let after = ReplicaHeaderCache(capacity: 100)
        try after.keep(inFile: path, for: store)
        #expect(after.entry(store: store, key: "ltx/0/a.ltx", etag: "\"e1\"") == entry(1))
        #expect(after.entry(store: store, key: "ltx/0/b.ltx", etag: "\"e2\"") == entry(2))
        // Another file under the same name: not answered from the old one's header.
        #expect(after.entry(store: store, key: "ltx/0/a.ltx", etag: "\"e9\"") == nil)
        // Only the store the file was kept for.
        #expect(after.entry(store: "s3://bucket/other", key: "ltx/0/c.ltx", etag: "\"e3\"") == nil)
        #expect(after.count == 2)
    }

    @Test func aTornLastLineAndAnotherStoresFileAreIgnored() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = ReplicaHeaderCache(capacity: 100)
        try first.keep(inFile: path, for: store)
        first.remember(entry(1), store: store, key: "ltx/0/a.ltx", etag: "\"e1\"")
        first.remember(entry(2), store: store, key: "ltx/0/b.ltx", etag: "\"e2\"")
        // A crash in the middle of a write: the last line has no end.
        let file = try LocalFile(path, .readWrite)
        try file.truncate(to: try file.size() - 5)

        let restarted = ReplicaHeaderCache(capacity: 100)
        try restarted.keep(inFile: path, for: store)
        #expect(restarted.entry(store: store, key: "ltx/0/a.ltx", etag: "\"e1\"") == entry(1))
        #expect(restarted.entry(store: store, key: "ltx/0/b.ltx", etag: "\"e2\"") == nil)
        #expect(restarted.count == 1)

        // The configuration now names another bucket: the file starts over.
        let moved = ReplicaHeaderCache(capacity: 100)
        try moved.keep(inFile: path, for: "s3://elsewhere/app")
        #expect(moved.count == 0)
        #expect(moved.entry(store: "s3://elsewhere/app", key: "ltx/0/a.ltx", etag: "\"e1\"") == nil)
    }

    @Test func filesTheStoreNoLongerHoldsAreForgottenAndTheFileStaysSmall() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = ReplicaHeaderCache(capacity: 100_000)
        try cache.keep(inFile: path, for: store)
        // Compaction replaces thousands of segments by a few larger files.
        for index in 0..<3_000 {
            cache.remember(entry(UInt64(index)), store: store, key: "ltx/0/\(index).ltx", etag: "e\(index)")
        }
        let grown = FileSystem.attributes(path)?.size ?? 0
        cache.remember(entry(7), store: store, key: "ltx/1/all.ltx", etag: "c1")
        cache.retain(store: store, keys: ["ltx/1/all.ltx", "ltx/0/2999.ltx"])
        #expect(cache.count == 2)
        #expect(cache.entry(store: store, key: "ltx/0/5.ltx", etag: "e5") == nil)
        let shrunk = FileSystem.attributes(path)?.size ?? .max
        #expect(shrunk < grown / 100)

        let restarted = ReplicaHeaderCache(capacity: 100_000)
        try restarted.keep(inFile: path, for: store)
        #expect(restarted.count == 2)
        #expect(restarted.entry(store: store, key: "ltx/1/all.ltx", etag: "c1") == entry(7))
        #expect(restarted.entry(store: store, key: "ltx/0/2999.ltx", etag: "e2999") == entry(2999))
    }

    @Test func aFileThatCannotBeWrittenIsAClearErrorAtTheStartOnly() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.makeDirectories(directory)
        // A regular file where the folder should be.
        let blocked = directory + "/blocked"
        try FileSystem.writeAtomically([1], to: blocked)
        let cache = ReplicaHeaderCache(capacity: 100)
        #expect(throws: (any Error).self) { try cache.keep(inFile: blocked + "/ltx-headers", for: store) }
        cache.remember(entry(1), store: store, key: "ltx/0/a.ltx", etag: "e1")
        #expect(cache.entry(store: store, key: "ltx/0/a.ltx", etag: "e1") == entry(1))
    }
}
