import BatonCore
import BatonReplication
import BatonStore

/// Questions about the replica's history in the store.
enum StoreHistory {
    /// Whether some file in `files` ends at `txid` with database checksum
    /// `checksum` after it: then a copy in that state is a state of the
    /// store's history (not a diverged one). With `txid` nil, only the
    /// newest state is compared.
    static func contains(
        txid: UInt64?, checksum: UInt64, files: [LTXFileInfo], in store: any ObjectStore
    ) async throws -> Bool {
        guard let target = txid ?? files.map(\.maxTXID).max() else { return false }
        for file in files where file.maxTXID == target {
            if try await ReplicaCatalog.trailer(of: file, in: store).postApplyChecksum == checksum { return true }
        }
        return false
    }
}
