import BatonSystem

/// Appends to a new local file through a 1 MiB buffer.
final class BufferedFileWriter {
    let file: LocalFile
    private var buffer: [UInt8] = []
    private var offset: Int64 = 0

    init(creating path: String) throws {
        file = try LocalFile(path, .createNew)
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        try file.write(buffer, at: offset)
        offset += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and fsyncs.
    func finish() throws {
        try flush()
        try file.sync()
    }
}
