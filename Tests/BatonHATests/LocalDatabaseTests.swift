import BatonSQLite
import BatonSystem
import Foundation
import Testing

@testable import BatonHA

/// What a node keeps when its copy diverged: every copy (and its WAL) by
/// default, and with `diverged.keep` only the newest ones.
@Suite struct LocalDatabaseTests {
    let directory = "/tmp/baton-aside-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    func makeCopy(_ marker: UInt8) throws {
        try FileSystem.makeDirectories(directory)
        try FileSystem.writeAtomically([marker], to: directory + "/app.db")
        try FileSystem.writeAtomically([marker], to: directory + "/app.db-wal")
    }

    func listing() throws -> [String] { try FileSystem.list(directory).sorted() }

    @Test func aLeftoverWALIsFoldedIntoTheFile() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.makeDirectories(directory + "/live")
        // A writer's files as a crash leaves them: the database, and a WAL holding its commits.
        let writer = try SQLiteConnection(path: directory + "/live/app.db", create: true)
        try writer.execute("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(v)")
        for row in 1...20 { try writer.execute("INSERT INTO t VALUES (\(row))") }
        for suffix in ["", "-wal"] {
            let bytes = try LocalFile(directory + "/live/app.db" + suffix, .read).readAll()
            try FileSystem.writeAtomically(bytes, to: directory + "/app.db" + suffix)
        }
        writer.close()
        #expect((FileSystem.attributes(directory + "/app.db-wal")?.size ?? 0) > 0)

        try LocalDatabase.foldWAL(directory + "/app.db")
        #expect((FileSystem.attributes(directory + "/app.db-wal")?.size ?? 0) == 0)
        // The file alone now holds every commit.
        let reader = try SQLiteConnection(path: "file:\(directory)/app.db?immutable=1", readOnly: true, uri: true)
        #expect(try reader.scalar("SELECT count(*) FROM t") == "20")
        reader.close()
    }

    @Test func copiesSetAsideInOneSecondAreAllKept() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for marker: UInt8 in 1...3 {
            try makeCopy(marker)
            let (aside, removed) = try #require(try LocalDatabase.setAside(directory + "/app.db", epoch: 7, keep: nil))
            #expect(removed.isEmpty)
            #expect(try LocalFile(aside, .read).readAll() == [marker])
        }
        let names = try listing()
        #expect(names.filter { !$0.hasSuffix("-wal") }.count == 3)
        #expect(names.filter { $0.hasSuffix("-wal") }.count == 3)
        #expect(!names.contains("app.db"))
    }

    @Test func aLimitRemovesTheOldestCopiesWithTheirWAL() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for marker: UInt8 in 1...4 {
            try makeCopy(marker)
            _ = try LocalDatabase.setAside(directory + "/app.db", epoch: UInt64(marker), keep: 2)
        }
        let names = try listing()
        #expect(names.count == 4)
        let kept = names.filter { !$0.hasSuffix("-wal") }
        #expect(kept.count == 2)
        #expect(
            try kept.map { try LocalFile("\(directory)/\($0)", .read).readAll() }.sorted { $0[0] < $1[0] } == [
                [3], [4],
            ])
        #expect(names.allSatisfy { name in name.hasSuffix("-wal") ? kept.contains(String(name.dropLast(4))) : true })
    }

    @Test func unconfirmedFilesAreKeptAsideAndTheOldestFoldersGoPastTheLimit() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pending = directory + "/pending"
        // Nothing sealed: nothing moved.
        try FileSystem.makeDirectories(pending)
        #expect(
            try LocalDatabase.setAsideUnconfirmed(pending, to: directory + "/unconfirmed-epoch-1-1", keep: 2).count == 0
        )
        for term in 1...4 {
            try FileSystem.makeDirectories(pending)
            try FileSystem.writeAtomically([UInt8(term)], to: pending + "/0_\(term).ltx")
            // Early compaction keeps its inputs in a subfolder (a chaos run's removal once failed on it).
            try FileSystem.makeDirectories(pending + "/uploaded")
            try FileSystem.writeAtomically([UInt8(term)], to: pending + "/uploaded/0_\(term).ltx")
            let aside = directory + "/unconfirmed-epoch-\(term)-\(term)"
            let (count, removed, failures) = try LocalDatabase.setAsideUnconfirmed(
                pending, to: aside, keep: term == 4 ? 2 : nil)
            #expect(count == 1)
            #expect(failures == [])
            // Without a limit everything stays; with one, the oldest folders (and their files) go.
            #expect(
                removed
                    == (term == 4 ? [directory + "/unconfirmed-epoch-1-1", directory + "/unconfirmed-epoch-2-2"] : []))
            usleep(10_000)  // folders told apart by their times
        }
        #expect(try listing() == ["unconfirmed-epoch-3-3", "unconfirmed-epoch-4-4"])
        #expect(try LocalFile(directory + "/unconfirmed-epoch-4-4/0_4.ltx", .read).readAll() == [4])
    }
}
