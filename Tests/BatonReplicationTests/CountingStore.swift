import BatonStore
import Synchronization

/// Passes everything to a store and counts the reads: ranged ones (header
/// reads), whole-file ones (`get` and `localCopy`, i.e. downloads) and listed keys.
final class CountingStore: ObjectStore {
    private let base: any ObjectStore
    private let counts = Mutex((ranged: 0, whole: 0, listed: 0, prefixes: [String]()))
    private let name: String?

    /// Counts for `base`; a `displayURL` of its own makes it another machine's
    /// view of the same store to the process-wide header cache.
    init(_ base: any ObjectStore, displayURL: String? = nil) {
        self.base = base
        name = displayURL
    }

    /// Ranged reads so far.
    var rangedReads: Int { counts.withLock { $0.ranged } }
    /// Keys the listings returned so far.
    var listedKeys: Int { counts.withLock { $0.listed } }
    /// The prefixes listed so far, in order.
    var listedPrefixes: [String] { counts.withLock { $0.prefixes } }
    /// Whole-file reads so far.
    var downloads: Int { counts.withLock { $0.whole } }
    var displayURL: String { name ?? base.displayURL }

    func folders(under prefix: String) async throws -> [String] {
        try await base.folders(under: prefix)
    }
    func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        let listed = try await base.list(prefix: prefix, startAfter: startAfter)
        counts.withLock {
            $0.listed += listed.count
            $0.prefixes.append(prefix)
        }
        return listed
    }
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
