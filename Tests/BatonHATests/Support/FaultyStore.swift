import BatonCore
import BatonStore
import Synchronization

/// A store that passes everything to another one until told to fail: then
/// every request for a failing key throws an I/O error, as a store cut off
/// by the network would (no request reaches it).
final class FaultyStore: ObjectStore {
    /// Which keys fail, shared by every store of one node.
    final class Switch: Sendable {
        private let state = Mutex<(failing: (@Sendable (String) -> Bool)?, failures: Int, puts: [String: Int])>(
            (nil, 0, [:]))

        init() {}

        /// From now on, requests for keys `which` accepts fail.
        func fail(_ which: @escaping @Sendable (String) -> Bool) { state.withLock { $0.failing = which } }

        /// Requests succeed again.
        func heal() { state.withLock { $0.failing = nil } }

        /// How many PUTs of `key` reached the store so far.
        func puts(of key: String) -> Int { state.withLock { $0.puts[key] ?? 0 } }

        func countPut(_ key: String) { state.withLock { $0.puts[key, default: 0] += 1 } }

        /// How many requests failed so far.
        var failures: Int { state.withLock { $0.failures } }

        func check(_ key: String) throws {
            let fails = state.withLock { state -> Bool in
                guard let failing = state.failing, failing(key) else { return false }
                state.failures += 1
                return true
            }
            if fails { throw BatonError(.io, "injected: the store cannot be reached") }
        }
    }

    private let base: any ObjectStore
    private let faults: Switch

    init(_ base: any ObjectStore, faults: Switch) {
        self.base = base
        self.faults = faults
    }

    var displayURL: String { base.displayURL }

    func folders(under prefix: String) async throws -> [String] {
        try faults.check(prefix)
        return try await base.folders(under: prefix)
    }
    func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        try faults.check(prefix)
        return try await base.list(prefix: prefix, startAfter: startAfter)
    }

    func get(_ key: String) async throws -> [UInt8] {
        try faults.check(key)
        return try await base.get(key)
    }

    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        try faults.check(key)
        return try await base.get(key, range: range)
    }

    func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        try faults.check(key)
        return try await base.localCopy(key, scratchDirectory: scratchDirectory)
    }

    func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        try faults.check(key)
        faults.countPut(key)
        return try await base.put(key, data: data, condition: condition)
    }

    func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String {
        try faults.check(key)
        return try await base.upload(key, fromFile: path, condition: condition)
    }

    func delete(_ key: String, ifMatch: String?) async throws {
        try faults.check(key)
        try await base.delete(key, ifMatch: ifMatch)
    }

    func storeTimeMilliseconds() async throws -> Int64 {
        try faults.check("")
        return try await base.storeTimeMilliseconds()
    }
}
