/// Checksums of database pages and whole databases, as LTX defines them.
///
/// A page's checksum is CRC-64/ISO over its 4-byte big-endian page number
/// followed by its data. A database's checksum is the XOR of the checksums of
/// all its pages, so it can be updated in O(changed pages): XOR out a page's
/// old checksum and XOR in the new one. Every stored checksum has the top bit
/// set (`flag`) so that zero always means "absent".
public enum DatabaseChecksum {
    /// The bit LTX sets on every checksum so that a real checksum is never zero.
    public static let flag: UInt64 = 1 << 63

    /// The checksum of page `pageNumber` holding `data`.
    public static func page(_ pageNumber: UInt32, _ data: UnsafeRawBufferPointer) -> UInt64 {
        var crc = CRC64()
        var number = pageNumber.bigEndian
        withUnsafeBytes(of: &number) { crc.update($0) }
        crc.update(data)
        return flag | crc.value
    }

    /// The checksum of page `pageNumber` holding `data`.
    public static func page(_ pageNumber: UInt32, _ data: [UInt8]) -> UInt64 {
        data.withUnsafeBytes { page(pageNumber, $0) }
    }

    /// The page number SQLite reserves for its lock byte; it is never stored.
    public static func lockPageNumber(pageSize: UInt32) -> UInt32 {
        UInt32(0x4000_0000 / Int(pageSize)) + 1
    }
}
