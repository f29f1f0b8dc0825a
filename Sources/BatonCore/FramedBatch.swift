/// A sequence of byte records, each prefixed by its length (4 bytes,
/// big-endian): how a holder sends a batch of one-transaction LTX files to
/// a standby in one response, and how the standby journals a batch before
/// applying it. Decoding refuses a truncated or oversized record.
public enum FramedBatch {
    /// Largest record accepted (a transaction's LTX file).
    public static let maxRecordBytes = 1 << 30

    /// Appends `record` with its length prefix to `output`.
    public static func append(_ record: [UInt8], to output: inout [UInt8]) {
        BigEndian.append(UInt32(record.count), to: &output)
        output.append(contentsOf: record)
    }

    /// All records of `records`, framed.
    public static func encode(_ records: [[UInt8]]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(records.reduce(0) { $0 + $1.count + 4 })
        for record in records { append(record, to: &output) }
        return output
    }

    /// The records in `bytes`; throws `corrupt` when the framing is broken.
    public static func decode(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw BatonError(.corrupt, "batch ends inside a length prefix") }
            let length = Int(BigEndian.uint32(bytes, offset))
            offset += 4
            guard length <= maxRecordBytes, length <= bytes.count - offset else {
                throw BatonError(
                    .corrupt, "batch record of \(length) bytes runs past the end (\(bytes.count - offset) left)")
            }
            records.append(Array(bytes[offset..<offset + length]))
            offset += length
        }
        return records
    }
}
