import Crypto

/// The key of an age payload and its STREAM construction: the plaintext
/// in chunks of 64 KiB, each sealed with ChaCha20-Poly1305 under a nonce
/// of an 11-byte big-endian chunk counter and a last-chunk flag, so chunks
/// can be neither reordered, dropped nor the file cut at a chunk boundary.
struct AgePayloadKey: Sendable {
    /// The key's bytes (SymmetricKey is not Sendable).
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    static let label = Array("payload".utf8)
    /// Plaintext bytes per chunk (the last may be shorter).
    static let chunkSize = 64 << 10
    /// Ciphertext bytes per whole chunk.
    static let sealedChunkSize = chunkSize + tagSize
    static let tagSize = 16
    /// Bytes of the nonce between the header and the first chunk.
    static let nonceSize = 16

    /// The payload key of `fileKey` with the file's `nonce`.
    init(fileKey: [UInt8], nonce: [UInt8]) {
        keyBytes = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Self.label, outputByteCount: 32
        ).withUnsafeBytes { Array($0) }
    }

    /// Chunk `index` sealed.
    func seal(_ chunk: ArraySlice<UInt8>, index: UInt64, last: Bool) -> [UInt8] {
        // A 12-byte nonce is always valid.
        let sealed = try! ChaChaPoly.seal(chunk, using: key, nonce: Self.nonce(index, last: last))
        return Array(sealed.ciphertext + sealed.tag)
    }

    /// Chunk `index` opened, and whether it was sealed as the last one;
    /// nil when it was not sealed under this key at this position.
    func open(_ sealed: ArraySlice<UInt8>, index: UInt64) -> (plaintext: [UInt8], last: Bool)? {
        guard sealed.count >= Self.tagSize else { return nil }
        let ciphertext = sealed.dropLast(Self.tagSize)
        let tag = sealed.suffix(Self.tagSize)
        for last in [false, true] {
            guard
                let box = try? ChaChaPoly.SealedBox(
                    nonce: Self.nonce(index, last: last), ciphertext: ciphertext, tag: tag),
                let plaintext = try? ChaChaPoly.open(box, using: key)
            else { continue }
            return (Array(plaintext), last)
        }
        return nil
    }

    private static func nonce(_ index: UInt64, last: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for byte in 0..<8 { bytes[10 - byte] = UInt8(truncatingIfNeeded: index >> (8 * UInt64(byte))) }
        bytes[11] = last ? 1 : 0
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
