import BatonStore
import Synchronization

/// Passes everything to a store and counts the reads: ranged ones (header
/// reads) and whole-file ones (`get` and `localCopy`, i.e. downloads).
final class CountingStore: ObjectStore {
    private let base: any ObjectStore
    private let counts = Mutex((ranged: 0, whole: 0))
    private let name: String?

    /// Counts for `base`; a `displayURL` of its own makes it another machine's
    /// view of the same store to the process-wide header cache.
    init(_ base: any ObjectStore, displayURL: String? = nil) {
        self.base = base
        name = displayURL
    }

    /// Ranged reads so far.
    var rangedReads: Int { counts.withLock { $0.ranged } }
    /// Whole-file reads so far.
    var downloads: Int { counts.withLock { $0.whole } }
    var displayURL: String { name ?? base.displayURL }

    func list(prefix: String) async throws -> [ObjectInfo] { try await base.list(prefix: prefix) }
    func get(_ key: String) async throws -> [UInt8] {
        counts.withLock { $0.whole += 1 }
        return try await base.get(key)
    }
    func fetch(_ key: String) async throws -> FetchedObject? {
        counts.withLock { $0.whole += 1 }
        return try await base.fetch(key)
    }
    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        counts.withLock { $0.ranged += 1 }
        return try await base.get(key, range: range)
    }
    func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        counts.withLock { $0.whole += 1 }
        return try await base.localCopy(key, scratchDirectory: scratchDirectory)
    }
    func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        try await base.put(key, data: data, condition: condition)
    }
    func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String {
        try await base.upload(key, fromFile: path, condition: condition)
    }
    func delete(_ key: String, ifMatch: String?) async throws { try await base.delete(key, ifMatch: ifMatch) }
    func storeTimeMilliseconds() async throws -> Int64 { try await base.storeTimeMilliseconds() }
}
