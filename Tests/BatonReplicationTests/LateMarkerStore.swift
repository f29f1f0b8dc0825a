import BatonCore
import BatonStore
import Synchronization

/// A store whose first listing of `epochs/` misses the marker of `epoch`:
/// as if a new holder marked its epoch just after a reader listed the
/// markers, and uploaded its first file before the reader listed the files.
final class LateMarkerStore: ObjectStore {
    private let base: any ObjectStore
    private let epoch: UInt64
    private let markerListings = Mutex(0)

    init(_ base: any ObjectStore, hidingOnceTheMarkerOf epoch: UInt64) {
        self.base = base
        self.epoch = epoch
    }

    /// How many times `epochs/` was listed.
    var markerListingCount: Int { markerListings.withLock { $0 } }

    var displayURL: String { base.displayURL }

    func folders(under prefix: String) async throws -> [String] {
        try await base.folders(under: prefix)
    }
    func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        let listed = try await base.list(prefix: prefix, startAfter: startAfter)
        guard prefix == EpochStart.prefix else { return listed }
        let first = markerListings.withLock { count -> Bool in
            count += 1
            return count == 1
        }
        return first ? listed.filter { EpochStart(key: $0.key)?.epoch != epoch } : listed
    }
    func get(_ key: String) async throws -> [UInt8] { try await base.get(key) }
    func fetch(_ key: String) async throws -> FetchedObject? { try await base.fetch(key) }
    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] { try await base.get(key, range: range) }
    func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        try await base.localCopy(key, scratchDirectory: scratchDirectory)
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
