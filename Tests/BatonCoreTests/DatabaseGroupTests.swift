import Testing

@testable import BatonCore

@Suite struct DatabaseGroupTests {
    @Test func namesDefaultToTheFilesStem() throws {
        let group = try DatabaseGroup(members: [
            .init(path: "storage/production.sqlite3"), .init(path: "storage/production_cache.sqlite3"),
            .init(name: "queue", path: "storage/production_queue.sqlite3"), .init(path: "data/app"),
        ])
        #expect(group.names == ["production", "production_cache", "queue", "app"])
        #expect(group.prefixed)
        #expect(group.member(named: "queue")?.path == "storage/production_queue.sqlite3")
        #expect(!DatabaseGroup.single(path: "app.db").prefixed)
        #expect(DatabaseGroup.defaultName(for: "/srv/.hidden") == ".hidden")
    }

    @Test func repeatedOrUnusableNamesAreRefusedWithTheFile() {
        #expect(throws: BatonError.self) {
            try DatabaseGroup(members: [.init(path: "a/production.sqlite3"), .init(path: "b/production.db")])
        }
        #expect(throws: BatonError.self) {
            try DatabaseGroup(members: [.init(path: "x.db"), .init(name: "y", path: "x.db")])
        }
        for name in ["", "..", "a/b", "with space", "ltx", "lease.json", "fleet"] {
            #expect(throws: BatonError.self) { try DatabaseGroup(members: [.init(name: name, path: "x.db")]) }
        }
        #expect(throws: BatonError.self) { try DatabaseGroup(members: []) }
        #expect(throws: BatonError.self) { try DatabaseGroup(directory: .init(path: "storage", pattern: "a/*.db")) }
    }

    @Test func directoryModeFindsMatchingFilesButNeverSideFilesOrCopiesKeptAside() throws {
        var group = try DatabaseGroup(directory: .init(path: "storage", pattern: "*.sqlite3"))
        let found = group.newMembers(amongFileNames: [
            "b.sqlite3", "a.sqlite3", "a.sqlite3-wal", "a.sqlite3-shm", "a.sqlite3.diverged-3-1700000000",
            "notes.txt", ".tmp.sqlite3", "c.sqlite3-journal",
        ])
        #expect(found == [.init(path: "storage/a.sqlite3"), .init(path: "storage/b.sqlite3")])
        for member in found { try group.add(member) }
        #expect(group.newMembers(amongFileNames: ["a.sqlite3", "b.sqlite3", "c.sqlite3"]).map(\.name) == ["c"])
        group.remove(path: "storage/a.sqlite3")
        #expect(group.newMembers(amongFileNames: ["a.sqlite3"]).map(\.name) == ["a"])
    }

    @Test func globPatternsMatchLikeTheShell() {
        let cases: [(String, String, Bool)] = [
            ("*.sqlite3", "production.sqlite3", true), ("*.sqlite3", "production.sqlite3-wal", false),
            ("*", "", true), ("", "", true), ("", "a", false), ("a?c", "abc", true), ("a?c", "ac", false),
            ("*_cache.*", "production_cache.sqlite3", true), ("*a*b*", "xxaxxbxx", true), ("*a*b", "ab_a", false),
            ("tenant[1].db", "tenant[1].db", true), ("**x", "yyx", true),
        ]
        for (pattern, name, expected) in cases {
            #expect(GlobPattern(pattern).matches(name) == expected, "\(pattern) ~ \(name)")
        }
    }
}
