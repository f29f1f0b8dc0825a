import BatonCore
import BatonStore
import Synchronization

/// A store that can be cut off: while `down`, every request fails as an
/// unreachable server's would.
final class OutageStore: ObjectStore {
    private let base: any ObjectStore
    private let cut = Mutex(false)

    init(_ base: any ObjectStore) { self.base = base }

    /// Whether requests fail.
    var down: Bool {
        get { cut.withLock { $0 } }
        set { cut.withLock { $0 = newValue } }
    }

    var displayURL: String { base.displayURL }

    private func reachable() throws {
        if down { throw BatonError(.io, "\(base.displayURL): cannot connect (test outage)") }
    }

    func folders(under prefix: String) async throws -> [String] {
        try reachable()
        return try await base.folders(under: prefix)
    }
    func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        try reachable()
        return try await base.list(prefix: prefix, startAfter: startAfter)
    }
    func get(_ key: String) async throws -> [UInt8] {
        try reachable()
        return try await base.get(key)
    }
    func fetch(_ key: String) async throws -> FetchedObject? {
        try reachable()
        return try await base.fetch(key)
    }
    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        try reachable()
        return try await base.get(key, range: range)
    }
    func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        try reachable()
        return try await base.localCopy(key, scratchDirectory: scratchDirectory)
    }
    func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        try reachable()
        return try await base.put(key, data: data, condition: condition)
    }
    func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String {
        try reachable()
        return try await base.upload(key, fromFile: path, condition: condition)
    }
    func delete(_ key: String, ifMatch: String?) async throws {
        try reachable()
        try await base.delete(key, ifMatch: ifMatch)
    }
    func storeTimeMilliseconds() async throws -> Int64 {
        try reachable()
        return try await base.storeTimeMilliseconds()
    }
}
