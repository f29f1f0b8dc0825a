import BatonCore
import BatonStore

/// The `epochs/` markers of a replica (see `EpochStart`).
enum EpochMarkers {
    /// Records where `start.epoch` begins, before its first file is uploaded.
    /// A marker already there (a retried upload) is fine.
    static func mark(_ start: EpochStart, in store: any ObjectStore) async throws {
        do {
            try await store.put(start.key, data: [], condition: .ifNoneMatch)
        } catch let error as BatonError where error.code == .preconditionFailed {
            return
        }
    }

    /// Each marked epoch's earliest start.
    static func load(from store: any ObjectStore) async throws -> [UInt64: UInt64] {
        EpochStart.starts(fromKeys: try await store.list(prefix: EpochStart.prefix).map(\.key))
    }
}
