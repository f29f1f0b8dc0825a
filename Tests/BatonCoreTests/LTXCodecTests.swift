import Testing

@testable import BatonCore

@Suite struct LTXCodecTests {
    func encode(_ header: LTXHeader, pages: [(UInt32, [UInt8])], post: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        var encoder = try LTXEncoder(header: header) { out += $0 }
        for (number, data) in pages { try encoder.writePage(number, data) }
        _ = try encoder.finish(postApplyChecksum: post)
        return out
    }

    func page(_ seed: UInt8) -> [UInt8] { (0..<4096).map { UInt8(truncatingIfNeeded: $0 / 7 &+ Int(seed)) } }

    @Test func roundTripsASnapshot() throws {
        var header = LTXHeader(pageSize: 4096, commitPageCount: 3, minTXID: 1, maxTXID: 5, timestampMilliseconds: 1234)
        header.walOffset = 32
        header.walSize = 4120
        header.walSalt1 = 7
        header.walSalt2 = 8
        let pages = [(UInt32(1), page(1)), (2, page(2)), (3, page(3))]
        var table = PageChecksumTable()
        for (number, data) in pages { table.set(number, checksum: DatabaseChecksum.page(number, data), pageSize: 4096) }
        let bytes = try encode(header, pages: pages, post: table.databaseChecksum)

        var decoder = try LTXDecoder(ArrayByteSource(bytes))
        #expect(decoder.header == header)
        var decoded: [(UInt32, [UInt8])] = []
        while let next = try decoder.nextPage() { decoded.append((next.pageNumber, next.data)) }
        let trailer = try decoder.finish()
        #expect(decoded.map(\.0) == [1, 2, 3])
        #expect(decoded.map(\.1) == pages.map(\.1))
        #expect(trailer.postApplyChecksum == table.databaseChecksum)
    }

    @Test func detectsAnyFlippedByte() throws {
        let header = LTXHeader(pageSize: 4096, commitPageCount: 2, minTXID: 1, maxTXID: 1, timestampMilliseconds: 1)
        let bytes = try encode(header, pages: [(1, page(1)), (2, page(2))], post: DatabaseChecksum.flag | 1)
        // Flip one byte at many positions: decoding must fail every time.
        for position in stride(from: 0, to: bytes.count, by: 13) {
            var broken = bytes
            broken[position] ^= 0x20
            #expect(throws: BatonError.self) {
                var decoder = try LTXDecoder(ArrayByteSource(broken))
                _ = try decoder.finish()
            }
        }
    }

    @Test func truncatedFileIsRefused() throws {
        let header = LTXHeader(pageSize: 4096, commitPageCount: 1, minTXID: 1, maxTXID: 1, timestampMilliseconds: 1)
        let bytes = try encode(header, pages: [(1, page(1))], post: DatabaseChecksum.flag | 1)
        for cut in [10, 100, 120, bytes.count - 1] {
            #expect(throws: BatonError.self) {
                var decoder = try LTXDecoder(ArrayByteSource(Array(bytes.prefix(cut))))
                _ = try decoder.finish()
            }
        }
    }

    @Test func encoderRefusesOutOfOrderPages() throws {
        var header = LTXHeader(pageSize: 4096, commitPageCount: 9, minTXID: 2, maxTXID: 2, timestampMilliseconds: 1)
        header.preApplyChecksum = DatabaseChecksum.flag | 5
        var encoder = try LTXEncoder(header: header) { _ in }
        try encoder.writePage(5, page(5))
        #expect(throws: BatonError.self) { try encoder.writePage(3, page(3)) }
        #expect(throws: BatonError.self) { try encoder.writePage(10, page(3)) }
    }

    @Test func snapshotMustHoldEveryPage() throws {
        let header = LTXHeader(pageSize: 4096, commitPageCount: 3, minTXID: 1, maxTXID: 1, timestampMilliseconds: 1)
        var encoder = try LTXEncoder(header: header) { _ in }
        try encoder.writePage(1, page(1))
        #expect(throws: BatonError.self) { try encoder.writePage(3, page(3)) }
    }

    @Test func headerRulesAreEnforced() {
        var header = LTXHeader(pageSize: 1000, commitPageCount: 1, minTXID: 1, maxTXID: 1, timestampMilliseconds: 1)
        #expect(throws: BatonError.self) { try header.validate() }
        header.pageSize = 4096
        header.minTXID = 3
        header.maxTXID = 3
        #expect(throws: BatonError.self) { try header.validate() }  // no pre-apply checksum
        header.flags = LTXHeader.flagNoChecksum
        #expect(throws: Never.self) { try header.validate() }
        header.flags = 0x80
        #expect(throws: BatonError.self) { try header.validate() }
    }

    @Test func fileNamesRoundTrip() {
        let info = LTXFileInfo(level: 9, minTXID: 1, maxTXID: 0x2a)
        #expect(info.key == "ltx/9/0000000000000001-000000000000002a.ltx")
        #expect(LTXFileInfo(key: info.key) == info)
        #expect(LTXFileInfo(key: "ltx/0/zz.ltx") == nil)
        #expect(LTXFileInfo(key: "ltx/0/0000000000000003-0000000000000002.ltx") == nil)
    }
}
