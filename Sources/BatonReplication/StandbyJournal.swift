import BatonCore
import BatonSystem

/// The durable record of what a standby applied since its last checkpoint:
/// an append-only file of length-prefixed one-transaction LTX files
/// (`FramedBatch` records). A batch is appended and flushed with one
/// fdatasync before its pages go into the database file, which is synced
/// only at checkpoints; after a crash the journal's records re-apply the
/// pages (whole images: harmless to apply twice). A torn last record fails
/// its LTX checksum or its length, and ends the journal there.
final class StandbyJournal {
    let path: String
    private let file: LocalFile
    private var end: Int64

    /// Opens (or creates) the journal; appends go after its valid records.
    init(path: String) throws {
        self.path = path
        let created = !FileSystem.exists(path)
        file = try LocalFile(path, .readWrite)
        // A confirmed batch must survive a power loss: so must the file's name in its folder.
        if created { try FileSystem.syncDirectory(FileSystem.parent(of: path)) }
        end = 0
        end = Int64(try StandbyJournal.validPrefix(try file.readAll()).length)
    }

    /// Bytes held (a checkpoint is due past a limit).
    var size: Int64 { end }

    /// The valid records, in order.
    func records() throws -> [[UInt8]] { try StandbyJournal.validPrefix(try file.readAll()).records }

    /// Appends `records` durably (one fdatasync).
    func append(_ records: [[UInt8]]) throws {
        let bytes = FramedBatch.encode(records)
        try file.write(bytes, at: end)
        try file.dataSync()
        end += Int64(bytes.count)
    }

    /// Empties the journal (after a checkpoint recorded its end elsewhere).
    func reset() throws {
        try file.truncate(to: 0)
        end = 0
    }

    /// The records up to the first that is torn or not an LTX file that
    /// verifies, and where they end.
    static func validPrefix(_ bytes: [UInt8]) -> (records: [[UInt8]], length: Int) {
        var records: [[UInt8]] = []
        var offset = 0
        while bytes.count - offset >= 4 {
            let length = Int(BigEndian.uint32(bytes, offset))
            guard length > 0, length <= bytes.count - offset - 4 else { break }
            let record = Array(bytes[offset + 4..<offset + 4 + length])
            guard (try? StandbyDatabase.decode(record)) != nil else { break }
            records.append(record)
            offset += 4 + length
        }
        return (records, offset)
    }
}
