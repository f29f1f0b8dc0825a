/// Layout constants of LTX page frames and the page index.
public enum LTXPageFrame {
    /// Page number (4) and flags (2).
    public static let headerSize = 6
    /// Page flag: a 4-byte compressed size follows the header and the payload is an LZ4 block.
    public static let flagSize: UInt16 = 1 << 0
    /// Size of the index-size field after the page index.
    public static let indexSizeFieldSize = 8
}
