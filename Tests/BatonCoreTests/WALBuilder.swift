@testable import BatonCore

/// Builds WAL files by hand, the way SQLite lays them out, for scanner tests.
struct WALBuilder {
    let pageSize: UInt32
    var bytes: [UInt8]
    private var running: WALChecksum
    let salt1: UInt32
    let salt2: UInt32
    let bigEndian: Bool

    init(
        pageSize: UInt32 = 512, salt1: UInt32 = 0x1111, salt2: UInt32 = 0x2222, sequence: UInt32 = 0,
        bigEndian: Bool = false
    ) {
        self.pageSize = pageSize
        self.salt1 = salt1
        self.salt2 = salt2
        self.bigEndian = bigEndian
        bytes = WALHeader.encode(
            pageSize: pageSize, checkpointSequence: sequence, salt1: salt1, salt2: salt2, bigEndian: bigEndian)
        running = WALHeader(bytes)!.checksum
    }

    static func page(_ fill: UInt8, size: UInt32 = 512) -> [UInt8] {
        (0..<Int(size)).map { UInt8(truncatingIfNeeded: Int(fill) &* 31 &+ $0) }
    }

    mutating func append(page number: UInt32, data: [UInt8], commit: UInt32 = 0) {
        var header: [UInt8] = []
        BigEndian.append(number, to: &header)
        BigEndian.append(commit, to: &header)
        BigEndian.append(salt1, to: &header)
        BigEndian.append(salt2, to: &header)
        running.update(header, 0..<8, bigEndian: bigEndian)
        running.update(data, 0..<data.count, bigEndian: bigEndian)
        BigEndian.append(running.s0, to: &header)
        BigEndian.append(running.s1, to: &header)
        bytes += header + data
    }

    var header: WALHeader { WALHeader(Array(bytes[0..<32]))! }

    /// Scans the whole buffer and returns the commits and why scanning stopped.
    static func scan(_ bytes: [UInt8]) -> (commits: [WALTransaction], stop: WALScanner.Stop?) {
        guard let header = WALHeader(Array(bytes.prefix(32))) else { return ([], nil) }
        var scanner = WALScanner(header: header)
        var commits: [WALTransaction] = []
        while scanner.offset + header.frameSize <= bytes.count {
            switch scanner.consume(frame: Array(bytes[scanner.offset..<scanner.offset + header.frameSize])) {
            case .frame: continue
            case .commit(let transaction): commits.append(transaction)
            case .stop(let stop): return (commits, stop)
            }
        }
        return (commits, nil)
    }
}
