import BatonCore
import BatonReplication
import BatonStore
import BatonSystem
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A rebuild lists the whole replica and needs every file's epoch: headers
/// this process uploaded or read once are not read again, unless the file
/// was replaced.
@Suite struct ReplicaHeaderCacheTests {
    let directory = "/tmp/baton-headers-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    @Test func headersAreReadOnceAndAgainOnlyForAReplacedFile() async throws {
        let files = FileStore(root: directory + "/replica")
        try await replicateSingleWrites(in: directory, to: files, writes: 5)

        // Uploaded by this process: what each header says is known already.
        let uploaded = CountingStore(files)
        let listed = try await ReplicaCatalog.files(in: uploaded, headers: true)
        #expect(listed.count == 6)
        #expect(uploaded.rangedReads == 0)
        #expect(listed.allSatisfy { $0.timestampMilliseconds != nil && $0.epoch != nil })

        // A copy this process did not write: read once, then not again.
        let copied = FileStore(root: directory + "/copy")
        for file in listed { _ = try await copied.put(file.key, data: try await files.get(file.key), condition: .none) }
        let store = CountingStore(copied)
        let first = try await ReplicaCatalog.files(in: store, headers: true)
        #expect(first == listed)
        #expect(store.rangedReads == 6)
        let second = try await ReplicaCatalog.files(in: store, headers: true)
        #expect(second == first)
        #expect(store.rangedReads == 6)

        // Written again under the same name (a new ETag): its header is read again.
        let replaced = first[3].key
        let bytes = try await copied.get(replaced)
        try await copied.delete(replaced, ifMatch: nil)
        _ = try await copied.put(replaced, data: bytes, condition: .ifNoneMatch)
        let third = try await ReplicaCatalog.files(in: store, headers: true)
        #expect(third == first)
        #expect(store.rangedReads == 7)
    }
}
