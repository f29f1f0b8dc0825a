/// The running checksum SQLite puts in WAL headers and frames (the
/// "Checksum Algorithm" section of the SQLite file format): two 32-bit sums
/// over 32-bit words, read big- or little-endian as the WAL header's magic says.
public struct WALChecksum: Equatable, Sendable {
    /// First sum.
    public var s0: UInt32
    /// Second sum.
    public var s1: UInt32

    /// A checksum with the given starting values.
    public init(s0: UInt32 = 0, s1: UInt32 = 0) {
        self.s0 = s0
        self.s1 = s1
    }

    /// Continues the checksum over `bytes`, whose length must be a multiple of 8.
    public mutating func update(_ bytes: UnsafeRawBufferPointer, bigEndian: Bool) {
        precondition(bytes.count % 8 == 0, "WAL checksum input must be a multiple of 8 bytes")
        var a = s0
        var b = s1
        var offset = 0
        while offset < bytes.count {
            var x0 = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            var x1 = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            if bigEndian {
                x0 = UInt32(bigEndian: x0)
                x1 = UInt32(bigEndian: x1)
            } else {
                x0 = UInt32(littleEndian: x0)
                x1 = UInt32(littleEndian: x1)
            }
            a = a &+ x0 &+ b
            b = b &+ x1 &+ a
            offset += 8
        }
        s0 = a
        s1 = b
    }

    /// Continues the checksum over `bytes[range]`.
    public mutating func update(_ bytes: [UInt8], _ range: Range<Int>, bigEndian: Bool) {
        bytes.withUnsafeBytes { update(UnsafeRawBufferPointer(rebasing: $0[range]), bigEndian: bigEndian) }
    }
}
