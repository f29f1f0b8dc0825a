/// An age file whose header one of our identities opened: the payload key
/// and where the payload starts, enough to decrypt any chunk on its own
/// (a ranged read of a big file fetches only the chunks it needs).
public struct AgeOpenedFile: Sendable {
    let key: AgePayloadKey
    /// Bytes before the first chunk: the header and the payload's nonce.
    public let payloadOffset: Int

    /// The file opened from its first bytes; nil when `prefix` ends before
    /// the header and nonce do. Throws when no identity is a recipient, or
    /// the header was altered.
    public static func open(prefix: [UInt8], identities: [AgeIdentity]) throws -> AgeOpenedFile? {
        guard case .header(let header) = try AgeHeader.parse(prefix) else { return nil }
        let offset = header.length + AgePayloadKey.nonceSize
        guard prefix.count >= offset else { return nil }
        guard !identities.isEmpty else {
            throw BatonError(.decryption, "the file is encrypted (age) and no identity was given to open it")
        }
        for stanza in header.stanzas {
            for identity in identities {
                guard let fileKey = try AgeX25519.unwrap(stanza, with: identity) else { continue }
                guard header.verify(fileKey: fileKey) else {
                    throw BatonError(.corrupt, "the age header's MAC does not verify: the file was altered")
                }
                let nonce = Array(prefix[header.length..<offset])
                return AgeOpenedFile(key: AgePayloadKey(fileKey: fileKey, nonce: nonce), payloadOffset: offset)
            }
        }
        let kinds = Set(header.stanzas.map(\.type)).sorted().joined(separator: ", ")
        throw BatonError(
            .decryption,
            "none of the \(identities.count) age identities given is a recipient of this file (its recipients: \(header.stanzas.count) \(kinds))"
        )
    }

    /// Where chunk `index` starts in the file.
    public func chunkOffset(_ index: Int64) -> Int64 {
        Int64(payloadOffset) + index * Int64(AgePayloadKey.sealedChunkSize)
    }

    /// The plaintext of chunk `index` from its sealed bytes, and whether it is the file's last.
    public func openChunk(_ sealed: ArraySlice<UInt8>, index: Int64) throws -> (plaintext: [UInt8], last: Bool) {
        guard let opened = key.open(sealed, index: UInt64(index)) else {
            throw BatonError(.corrupt, "chunk \(index) of the age file does not authenticate: altered or cut short")
        }
        return opened
    }

    /// Plaintext bytes per chunk.
    public static let chunkSize = AgePayloadKey.chunkSize
    /// Bytes each chunk adds (its authentication tag).
    public static let tagSize = AgePayloadKey.tagSize
    /// Sealed bytes per whole chunk.
    public static let sealedChunkSize = AgePayloadKey.sealedChunkSize
}
