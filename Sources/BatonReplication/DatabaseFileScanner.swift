import BatonCore
import BatonSystem

/// Reads a quiescent database file (no WAL, nobody writing) page by page.
enum DatabaseFileScanner {
    /// Page size from the SQLite header (offset 16, big-endian; 1 means 65536).
    static func pageSize(of file: LocalFile) throws -> UInt32 {
        let header = try file.read(at: 0, count: 100)
        guard header.count == 100, Array(header[0..<16]) == Array("SQLite format 3\u{0}".utf8) else {
            throw BatonError(.unsupportedDatabase, "\(file.path) is not a SQLite database")
        }
        let raw = UInt32(BigEndian.uint16(header, 16))
        return raw == 1 ? 65536 : raw
    }

    /// Calls `visit` with every page and its checksum; returns the table.
    static func scan(_ file: LocalFile, pageSize: UInt32, visit: (UInt32, [UInt8], UInt64) throws -> Void) throws
        -> PageChecksumTable
    {
        let pageCount = UInt32(try file.size() / Int64(pageSize))
        let lock = DatabaseChecksum.lockPageNumber(pageSize: pageSize)
        var table = PageChecksumTable()
        var number: UInt32 = 1
        while number <= pageCount {
            let chunk = try file.read(at: Int64(number - 1) * Int64(pageSize), count: Int(pageSize) * 256)
            var start = 0
            while start + Int(pageSize) <= chunk.count, number <= pageCount {
                if number != lock {
                    let data = Array(chunk[start..<start + Int(pageSize)])
                    let sum = DatabaseChecksum.page(number, data)
                    table.set(number, checksum: sum, pageSize: pageSize)
                    try visit(number, data, sum)
                }
                number += 1
                start += Int(pageSize)
            }
            if chunk.count < Int(pageSize) * 256 { break }
        }
        table.resize(to: pageCount, pageSize: pageSize)
        return table
    }
}
