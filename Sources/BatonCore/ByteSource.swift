/// Something bytes can be read from in order: a file, an object download, an array.
public protocol ByteSource {
    /// Reads exactly `count` bytes, or throws if the input ends first.
    mutating func read(exactly count: Int) throws -> [UInt8]
}

/// A `ByteSource` over bytes in memory.
public struct ArrayByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    /// Reads from `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads exactly `count` bytes.
    public mutating func read(exactly count: Int) throws -> [UInt8] {
        guard count <= bytes.count - position else {
            throw BatonError(.corrupt, "unexpected end of data (truncated file?)")
        }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }
}
