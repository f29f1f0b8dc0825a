import BatonCore

/// Buffered sequential reads from a `LocalFile`, as a `ByteSource`.
public struct FileByteSource: ByteSource {
    private let file: LocalFile
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var fileOffset: Int64
    private let chunkSize: Int

    /// Reads `file` from `offset`, `chunkSize` bytes at a time.
    public init(_ file: LocalFile, offset: Int64 = 0, chunkSize: Int = 1 << 20) {
        self.file = file
        self.fileOffset = offset
        self.chunkSize = chunkSize
    }

    /// Reads exactly `count` bytes or throws at the end of the file.
    public mutating func read(exactly count: Int) throws -> [UInt8] {
        if buffer.count - bufferStart < count {
            let more = try file.read(at: fileOffset, count: max(chunkSize, count))
            fileOffset += Int64(more.count)
            buffer = Array(buffer[bufferStart...]) + more
            bufferStart = 0
            guard buffer.count >= count else {
                throw BatonError(.corrupt, "\(file.path) ends unexpectedly (truncated file?)")
            }
        }
        defer { bufferStart += count }
        return Array(buffer[bufferStart..<bufferStart + count])
    }
}
