/// Unsigned LEB128 varints, as Go's `binary.PutUvarint` writes them (LTX page index).
public enum Varint {
    /// Appends `value` as a varint.
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Reads a varint from `next`, which yields one byte per call.
    public static func read(_ next: () throws -> UInt8) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<10 {
            let byte = try next()
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw BatonError(.corrupt, "LTX page index holds a varint longer than 10 bytes")
    }
}
