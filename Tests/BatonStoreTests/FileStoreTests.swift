import BatonCore
import BatonStore
import BatonSystem
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileStoreTests {
    func freshStore() throws -> FileStore {
        let root = "/tmp/baton-filestore-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        return FileStore(root: root)
    }

    @Test func putGetListDelete() async throws {
        let store = try freshStore()
        try await ObjectStoreConformance.putGetListDelete(store)
        #expect(store.metrics.requests[.init(kind: "put", outcome: "ok")] == 5)
        #expect(store.metrics.requests[.init(kind: "get", outcome: "not_found")] == 1)
        #expect(store.metrics.bytes.up == 3 + 200 + 2 + 1 + 1)
    }

    @Test func conditionalWrites() async throws {
        try await ObjectStoreConformance.conditionalWrites(try freshStore())
    }

    @Test func fetchAndUploadGiveTheETag() async throws {
        try await ObjectStoreConformance.fetchAndUploadGiveTheETag(try freshStore())
    }

    @Test func racingCreatesHaveOneWinner() async throws {
        try await ObjectStoreConformance.racingCreatesHaveOneWinner(try freshStore())
    }

    /// A store holding `lease.json` whose lock another writer holds (here a
    /// second open file, as a paused process would hold it); returns the
    /// lease's ETag and that file (unlock it to let writes through).
    func leaseWithLockHeldByAnotherWriter(lockWaitMilliseconds: Int64) async throws -> (FileStore, String, LocalFile) {
        let root = "/tmp/baton-filestore-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let store = FileStore(root: root, lockWaitMilliseconds: lockWaitMilliseconds)
        let etag = try await store.put("lease.json", data: Array("one".utf8), condition: .ifNoneMatch)
        let other = try LocalFile(root + "/.lock", .readWrite)
        #expect(flock(other.descriptor, LOCK_EX) == 0)
        return (store, etag, other)
    }

    @Test func aConditionalWriteWaitsForAnotherWritersLockOnlyBriefly() async throws {
        let (store, etag, other) = try await leaseWithLockHeldByAnotherWriter(lockWaitMilliseconds: 300)
        let root = store.root
        let started = MonotonicClock.now()
        do {
            _ = try await store.put("lease.json", data: Array("two".utf8), condition: .ifMatch(etag))
            Issue.record("the write went through a held lock")
        } catch let error as BatonError {
            #expect(error.code == .io)
            #expect(error.message.contains("locked by another process"))
        }
        #expect(MonotonicClock.now() - started < 5000)
        #expect(try await store.get("lease.json") == Array("one".utf8))
        // Creating a new object needs no lock at all (an atomic link).
        _ = try await store.put("other.json", data: Array("x".utf8), condition: .ifNoneMatch)
        flock(other.descriptor, LOCK_UN)
        _ = try await store.put("lease.json", data: Array("two".utf8), condition: .ifMatch(etag))
        #expect(try await store.get("lease.json") == Array("two".utf8))
        #expect(try FileSystem.list(root).filter { $0.hasPrefix(".tmp-") }.isEmpty)
    }

    @Test func writesWaitingForTheLockLeaveSwiftsThreadsFree() async throws {
        // The lease is renewed on Swift's cooperative threads (one per core): a store
        // write waiting for another process's lock must not hold one of them.
        let (store, etag, other) = try await leaseWithLockHeldByAnotherWriter(lockWaitMilliseconds: 3000)
        defer { flock(other.descriptor, LOCK_UN) }
        let writers = 4 * ProcessInfo.processInfo.activeProcessorCount
        let started = MonotonicClock.now()
        let sleptMilliseconds = await withTaskGroup(of: Int64?.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    _ = try? await store.put("lease.json", data: Array("two".utf8), condition: .ifMatch(etag))
                    return nil
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: 50_000_000)
                return MonotonicClock.now() - started
            }
            var slept: Int64 = 0
            for await result in group { if let result { slept = result } }
            return slept
        }
        // From the start: blocked threads would keep the sleeper waiting for the writers' 3 s or more.
        #expect(sleptMilliseconds < 1500)
        #expect(try await store.get("lease.json") == Array("one".utf8))
    }

    @Test func invalidKeysAreRefused() async throws {
        await ObjectStoreConformance.invalidKeysAreRefused(try freshStore())
    }

    @Test func uploadCopiesAFileAndLeavesNoTemporaryFiles() async throws {
        let store = try freshStore()
        let source = "/tmp/baton-upload-\(getpid())"
        try FileSystem.writeAtomically(Array(repeating: 7, count: 3_000_000), to: source)
        defer { try? FileSystem.remove(source) }
        try await store.upload("ltx/0/x.ltx", fromFile: source, condition: .ifNoneMatch)
        await ObjectStoreConformance.expectCode(.preconditionFailed) {
            try await store.upload("ltx/0/x.ltx", fromFile: source, condition: .ifNoneMatch)
        }
        #expect(try await store.get("ltx/0/x.ltx").count == 3_000_000)
        #expect(try FileSystem.list(store.root + "/ltx/0") == ["x.ltx"])
    }

    @Test func urlsParse() throws {
        #expect(try StoreURL("file:///var/backups/app/") == .file(path: "/var/backups/app"))
        #expect(try StoreURL("relative/dir") == .file(path: "relative/dir"))
        #expect(throws: BatonError.self) { try StoreURL("file://relative") }
        #expect(throws: BatonError.self) { try StoreURL("gs://bucket") }
        guard case .s3(let bucket, let prefix, let query) = try StoreURL("s3://b/apps/app?region=eu-west-1") else {
            Issue.record("not parsed as s3")
            return
        }
        #expect(bucket == "b" && prefix == "apps/app" && query["region"] == "eu-west-1")
    }
}
