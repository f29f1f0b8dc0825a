import Testing

@testable import BatonCore

@Suite struct ChecksumTests {
    @Test func crc64MatchesTheISOReferenceValue() {
        // CRC-64/GO-ISO check value for "123456789".
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xB909_56C7_75A4_1001)
        // Same result however the input is split.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var crc = CRC64()
        crc.update(Array(data[0..<3]))
        crc.update(Array(data[3..<517]))
        crc.update(Array(data[517...]))
        #expect(crc.value == CRC64.checksum(data))
    }

    @Test func incrementalChecksumEqualsFullRecomputation() {
        var generator = SystemRandomNumberGenerator()
        let pageSize: UInt32 = 512
        var pages: [UInt32: [UInt8]] = [:]
        var table = PageChecksumTable()
        var pageCount: UInt32 = 0
        for _ in 0..<300 {
            let operation = Int.random(in: 0..<10, using: &generator)
            if operation == 0, pageCount > 1 {
                pageCount = UInt32.random(in: 1..<pageCount, using: &generator)
                pages = pages.filter { $0.key <= pageCount }
                table.resize(to: pageCount, pageSize: pageSize)
            } else {
                let number = UInt32.random(in: 1...(pageCount + 3), using: &generator)
                let data = (0..<Int(pageSize)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                pages[number] = data
                pageCount = max(pageCount, number)
                table.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: pageSize)
            }
            // Full recomputation: every page, zeros where never written.
            var full: UInt64 = 0
            for number in 1...max(pageCount, 1) where pageCount > 0 {
                full ^= DatabaseChecksum.page(number, pages[number] ?? [UInt8](repeating: 0, count: Int(pageSize)))
            }
            #expect(table.databaseChecksum == DatabaseChecksum.flag | full)
            #expect(table.pageCount == pageCount)
        }
    }
}
