import BatonCore
import Foundation

/// What a standby's copy of the database is known to hold, kept in
/// `applied.json` next to its redo journal: the last applied transaction,
/// the database checksum after it, and the epoch that wrote it.
struct StandbyState: Codable, Equatable {
    var txid: UInt64
    var checksum: UInt64
    var pageSize: UInt32
    var epoch: UInt64

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    init(txid: UInt64, checksum: UInt64, pageSize: UInt32, epoch: UInt64) {
        self.txid = txid
        self.checksum = checksum
        self.pageSize = pageSize
        self.epoch = epoch
    }

    init(decoding bytes: [UInt8], path: String) throws {
        do {
            self = try JSONDecoder().decode(StandbyState.self, from: Data(bytes))
        } catch {
            throw BatonError(.corrupt, "\(path) is not a standby state file: \(error)")
        }
    }
}
