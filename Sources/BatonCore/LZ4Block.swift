import CLZ4

/// LZ4 block compression of single pages (liblz4), as LTX page frames store them.
public enum LZ4Block {
    /// The largest compressed size of `count` input bytes.
    public static func bound(_ count: Int) -> Int { Int(LZ4_compressBound(Int32(count))) }

    /// Compresses one page.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: bound(input.count))
        let written = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                source.withMemoryRebound(to: CChar.self) { src in
                    destination.withMemoryRebound(to: CChar.self) { dst in
                        LZ4_compress_default(src.baseAddress, dst.baseAddress, Int32(input.count), Int32(dst.count))
                    }
                }
            }
        }
        precondition(written > 0, "LZ4 compression of a page cannot fail with a bound-sized buffer")
        output.removeSubrange(Int(written)...)
        return output
    }

    /// Decompresses a block that must expand to exactly `size` bytes.
    public static func decompress(_ input: [UInt8], size: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size)
        let read = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                source.withMemoryRebound(to: CChar.self) { src in
                    destination.withMemoryRebound(to: CChar.self) { dst in
                        LZ4_decompress_safe(src.baseAddress, dst.baseAddress, Int32(input.count), Int32(size))
                    }
                }
            }
        }
        guard read == size else {
            throw BatonError(.corrupt, "LTX page data does not decompress to one \(size)-byte page")
        }
        return output
    }
}
