import Testing

@testable import BatonCore

@Suite struct WALScannerTests {
    @Test func findsCommittedTransactionsOnly() {
        var wal = WALBuilder()
        wal.append(page: 1, data: WALBuilder.page(1))
        wal.append(page: 2, data: WALBuilder.page(2), commit: 2)
        wal.append(page: 3, data: WALBuilder.page(3), commit: 3)
        wal.append(page: 1, data: WALBuilder.page(4))  // never committed
        let result = WALBuilder.scan(wal.bytes)
        #expect(result.commits.count == 2)
        #expect(result.commits[0].frames.map(\.pageNumber) == [1, 2])
        #expect(result.commits[0].commitPageCount == 2)
        #expect(result.commits[1].frames.map(\.pageNumber) == [3])
        #expect(result.commits[1].end.offset == 32 + 3 * (24 + 512))
    }

    @Test func bigEndianChecksumsVerify() {
        var wal = WALBuilder(bigEndian: true)
        wal.append(page: 1, data: WALBuilder.page(9), commit: 1)
        #expect(WALBuilder.scan(wal.bytes).commits.count == 1)
    }

    @Test func tornLastFrameIsIgnored() {
        var wal = WALBuilder()
        wal.append(page: 1, data: WALBuilder.page(1), commit: 1)
        wal.append(page: 2, data: WALBuilder.page(2), commit: 2)
        // Tear the last frame: its page is half written.
        let start = wal.bytes.count - 512 + 100
        for index in start..<wal.bytes.count { wal.bytes[index] = 0 }
        let result = WALBuilder.scan(wal.bytes)
        #expect(result.commits.count == 1)
        #expect(result.stop == .checksumMismatch)
    }

    @Test func badChecksumStopsEverythingAfter() {
        var wal = WALBuilder()
        wal.append(page: 1, data: WALBuilder.page(1), commit: 1)
        wal.append(page: 2, data: WALBuilder.page(2), commit: 2)
        wal.append(page: 3, data: WALBuilder.page(3), commit: 3)
        // Corrupt one byte in the second frame's page: the third frame, though
        // intact, no longer continues the running checksum either.
        wal.bytes[32 + (24 + 512) + 24 + 7] ^= 0xFF
        let result = WALBuilder.scan(wal.bytes)
        #expect(result.commits.count == 1)
        #expect(result.stop == .checksumMismatch)
    }

    @Test func framesFromAnOlderGenerationAreNotRead() {
        // A restarted WAL: new header and salts over the old file, whose stale
        // frames remain after the new ones.
        var old = WALBuilder(salt1: 5, salt2: 6)
        for page in 1...4 { old.append(page: UInt32(page), data: WALBuilder.page(UInt8(page)), commit: UInt32(page)) }
        var new = WALBuilder(salt1: 6, salt2: 99, sequence: 1)
        new.append(page: 1, data: WALBuilder.page(42), commit: 4)
        var bytes = old.bytes
        bytes.replaceSubrange(0..<new.bytes.count, with: new.bytes)
        let result = WALBuilder.scan(bytes)
        #expect(result.commits.count == 1)
        #expect(result.stop == .saltMismatch)
        #expect(result.commits[0].end.salt1 == 6)
    }

    @Test func invalidHeaderIsRejected() {
        var header = WALHeader.encode(pageSize: 4096, checkpointSequence: 0, salt1: 1, salt2: 2)
        #expect(WALHeader(header) != nil)
        header[10] ^= 1
        #expect(WALHeader(header) == nil)
        #expect(WALHeader([UInt8](repeating: 0, count: 32)) == nil)
    }

    @Test func resumesFromAPosition() {
        var wal = WALBuilder()
        wal.append(page: 1, data: WALBuilder.page(1), commit: 1)
        let first = WALBuilder.scan(wal.bytes).commits[0].end
        wal.append(page: 2, data: WALBuilder.page(2), commit: 2)
        var scanner = WALScanner(header: wal.header, from: first)
        let frame = Array(wal.bytes[first.offset..<first.offset + 536])
        guard case .commit(let transaction) = scanner.consume(frame: frame) else {
            Issue.record("expected a commit")
            return
        }
        #expect(transaction.frames.map(\.pageNumber) == [2])
    }
}
