import BatonCore
import BatonStore
import BatonSystem
import Testing

/// The behaviour every `ObjectStore` backend must have. Each backend's test
/// suite runs these same checks against a fresh, empty store.
enum ObjectStoreConformance {
    static func expectCode(_ code: BatonError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), nothing was thrown")
        } catch let error as BatonError {
            #expect(error.code == code, "\(error.message)")
        } catch {
            Issue.record("expected BatonError \(code), got \(error)")
        }
    }

    static func putGetListDelete(_ store: any ObjectStore) async throws {
        try await store.put("ltx/0/a.ltx", data: [1, 2, 3], condition: .none)
        try await store.put("ltx/9/b.ltx", data: Array(0..<200), condition: .none)
        try await store.put("lease.json", data: Array("{}".utf8), condition: .none)
        #expect(try await store.get("ltx/0/a.ltx") == [1, 2, 3])
        #expect(try await store.get("ltx/9/b.ltx", range: 10..<15) == [10, 11, 12, 13, 14])
        let listed = try await store.list(prefix: "ltx/")
        #expect(listed.map(\.key) == ["ltx/0/a.ltx", "ltx/9/b.ltx"])
        #expect(listed.map(\.size) == [3, 200])
        #expect(try await store.list(prefix: "").count == 3)
        // The folders one level down, each once, without their objects.
        try await store.put("ltx/9/c.ltx", data: [7], condition: .none)
        #expect(try await store.folders(under: "ltx/") == ["0", "9"])
        #expect(try await store.folders(under: "") == ["ltx"])
        #expect(try await store.folders(under: "ltx/9/").isEmpty)
        try await store.delete("ltx/9/c.ltx", ifMatch: nil)
        // Only what sorts after `startAfter` (a key's own prefix sorts before it).
        #expect(
            try await store.list(prefix: "ltx/", startAfter: "ltx/0/a").map(\.key) == ["ltx/0/a.ltx", "ltx/9/b.ltx"])
        #expect(try await store.list(prefix: "ltx/", startAfter: "ltx/0/a.ltx").map(\.key) == ["ltx/9/b.ltx"])
        #expect(try await store.list(prefix: "ltx/0/", startAfter: "ltx/0/a.ltx").isEmpty)
        try await store.put("ltx/0/a.ltx", data: [9], condition: .none)
        #expect(try await store.get("ltx/0/a.ltx") == [9])
        try await store.delete("ltx/0/a.ltx", ifMatch: nil)
        try await store.delete("ltx/0/a.ltx", ifMatch: nil)  // deleting a missing key is fine
        await expectCode(.notFound) { _ = try await store.get("ltx/0/a.ltx") }
    }

    static func conditionalWrites(_ store: any ObjectStore) async throws {
        let first = try await store.put("lease.json", data: [1], condition: .ifNoneMatch)
        await expectCode(.preconditionFailed) { try await store.put("lease.json", data: [2], condition: .ifNoneMatch) }
        let second = try await store.put("lease.json", data: [3], condition: .ifMatch(first))
        #expect(second != first)
        await expectCode(.preconditionFailed) {
            try await store.put("lease.json", data: [4], condition: .ifMatch(first))
        }
        await expectCode(.preconditionFailed) { try await store.delete("lease.json", ifMatch: first) }
        #expect(try await store.get("lease.json") == [3])
        try await store.delete("lease.json", ifMatch: second)
        #expect(try await store.list(prefix: "lease").isEmpty)
    }

    /// `fetch` and `upload` give the ETag a conditional write needs (the lease's read-modify-write).
    static func fetchAndUploadGiveTheETag(_ store: any ObjectStore) async throws {
        #expect(try await store.fetch("lease.json") == nil)
        let written = try await store.put("lease.json", data: [1, 2, 3], condition: .ifNoneMatch)
        let fetched = try #require(try await store.fetch("lease.json"))
        #expect(fetched.bytes == [1, 2, 3])
        #expect(fetched.etag == written)
        #expect(try await store.list(prefix: "lease.json").first?.etag == written)
        let now = try await store.storeTimeMilliseconds()
        #expect(abs(fetched.storeTimeMilliseconds - now) < 5000)
        try await store.put("lease.json", data: [4], condition: .ifMatch(fetched.etag))
        await expectCode(.preconditionFailed) {
            try await store.put("lease.json", data: [5], condition: .ifMatch(fetched.etag))
        }

        let path = "/tmp/baton-upload-\(UInt64.random(in: 0...UInt64.max))"
        try FileSystem.writeAtomically([7, 8, 9], to: path)
        defer { try? FileSystem.remove(path) }
        let uploaded = try await store.upload("ltx/0/a.ltx", fromFile: path, condition: .ifNoneMatch)
        #expect(!uploaded.isEmpty)
        #expect(try await store.list(prefix: "ltx/").first?.etag == uploaded)
    }

    static func racingCreatesHaveOneWinner(_ store: any ObjectStore) async throws {
        let winners = await withTaskGroup(of: Bool.self) { group in
            for contender in 0..<16 {
                group.addTask {
                    do {
                        try await store.put("race.json", data: [UInt8(contender)], condition: .ifNoneMatch)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            var count = 0
            for await won in group where won { count += 1 }
            return count
        }
        #expect(winners == 1)
    }

    static func invalidKeysAreRefused(_ store: any ObjectStore) async {
        for key in ["", "/abs", "a/../b", "./x"] {
            await expectCode(.usage) { try await store.put(key, data: [1], condition: .none) }
        }
    }
}
