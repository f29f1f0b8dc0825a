import BatonCore
import BatonStore
import Foundation
import Testing

@testable import BatonReplication

#if canImport(Glibc)
    import Glibc
#endif

/// Tiered retention on a store's listing: the times of the snapshots and of
/// the top compaction level come from the files' headers (a listing has
/// none), and the hourly points keep the files that lead to them.
@Suite struct TieredRetentionStoreTests {
    let directory = "/tmp/baton-tiers-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    static let hour: Int64 = 3_600_000

    func put(_ store: FileStore, _ level: Int, _ minTXID: UInt64, _ maxTXID: UInt64, at time: Int64) async throws {
        let header = LTXHeader(
            pageSize: 4096, commitPageCount: 2, minTXID: minTXID, maxTXID: maxTXID, timestampMilliseconds: time)
        let file = LTXFileInfo(level: level, minTXID: minTXID, maxTXID: maxTXID)
        try await store.put(
            file.key, data: header.encoded() + [UInt8](repeating: 0, count: 16), condition: .ifNoneMatch)
    }

    @Test func hourlyPointsAreFoundFromTheHeadersAndKeepTheirChain() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileStore(root: directory + "/replica")
        let hour = Self.hour
        let base: Int64 = 1_780_000_000_000 - 1_780_000_000_000 % (24 * hour)
        // A snapshot at 0 h, an hourly top-level (3) file over level-0 files, a new snapshot at 3 h, then more.
        try await put(store, 9, 1, 10, at: base)
        for (index, range) in [(11, 20), (21, 30), (31, 40)].enumerated() {
            let time = base + Int64(index + 1) * hour
            try await put(store, 0, UInt64(range.0), UInt64(range.1), at: time)
            try await put(store, 3, UInt64(range.0), UInt64(range.1), at: time)
        }
        try await put(store, 9, 1, 40, at: base + 3 * hour)
        try await put(store, 0, 41, 50, at: base + 6 * hour)
        let listed = try await ReplicaCatalog.files(in: store, headers: false)
        #expect(listed.allSatisfy { $0.timestampMilliseconds == nil })

        let now = base + 6 * hour + 1
        var policy = RetentionPolicy(pointInTimeMilliseconds: 3 * hour)
        let plain = try await ReplicaShipper.retentionDeletions(listed, in: store, nowMilliseconds: now, policy: policy)
        #expect(plain.count == 7)
        policy.hourly = 2
        let tiered = try await ReplicaShipper.retentionDeletions(
            listed, in: store, nowMilliseconds: now, policy: policy)
        // Kept for the point of 2 h (transaction 30): the first snapshot and the level-3 files to it.
        #expect(Set(tiered.map(\.key)) == Set(["ltx/0/11", "ltx/0/21", "ltx/0/31", "ltx/3/31"].map(key)))
        for file in tiered { try await store.delete(file.key, ifMatch: nil) }
        let restored = try await ReplicaCatalog.files(in: store, headers: false)
        #expect(try RestorePlan.make(files: restored, target: .txid(30)).files.count == 3)
    }

    /// The key of the test's file that starts `prefix` ("ltx/<level>/<min>").
    func key(_ prefix: String) -> String {
        let parts = prefix.split(separator: "/")
        let level = Int(parts[1])!
        let minTXID = UInt64(parts[2])!
        return LTXFileInfo(level: level, minTXID: minTXID, maxTXID: minTXID + 9).key
    }
}
