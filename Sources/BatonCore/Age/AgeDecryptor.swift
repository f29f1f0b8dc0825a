/// Decrypts one age file as its bytes arrive, holding at most a header and
/// one sealed chunk; every chunk is authenticated before its plaintext is
/// returned, and `finish` proves the file was not cut short.
public struct AgeDecryptor: Sendable {
    private let identities: [AgeIdentity]
    private var buffer: [UInt8] = []
    private var opened: AgeOpenedFile?
    private var index: UInt64 = 0
    private var sawLast = false

    /// A decryptor trying each of `identities`.
    public init(identities: [AgeIdentity]) {
        self.identities = identities
    }

    /// The plaintext of the chunks `bytes` completes.
    public mutating func update(_ bytes: ArraySlice<UInt8>) throws -> [UInt8] {
        buffer += bytes
        if opened == nil {
            guard let file = try AgeOpenedFile.open(prefix: buffer, identities: identities) else { return [] }
            opened = file
            buffer.removeFirst(file.payloadOffset)
        }
        var out: [UInt8] = []
        var start = 0
        // A whole chunk with more bytes after it is not the last one.
        while buffer.count - start > AgePayloadKey.sealedChunkSize {
            out += try openChunk(buffer[start..<(start + AgePayloadKey.sealedChunkSize)], final: false)
            start += AgePayloadKey.sealedChunkSize
        }
        if start > 0 { buffer.removeFirst(start) }
        return out
    }

    /// The last chunk's plaintext; throws if the file ended early.
    public mutating func finish() throws -> [UInt8] {
        guard opened != nil else { throw BatonError(.corrupt, "the age file ends inside its header") }
        return try openChunk(buffer[...], final: true)
    }

    private mutating func openChunk(_ sealed: ArraySlice<UInt8>, final: Bool) throws -> [UInt8] {
        guard let file = opened, !sawLast else {
            throw BatonError(.corrupt, "the age file has bytes after its last chunk")
        }
        guard let (plaintext, last) = file.key.open(sealed, index: index) else {
            throw BatonError(.corrupt, "chunk \(index) of the age file does not authenticate: altered or cut short")
        }
        guard last == final else {
            throw BatonError(
                .corrupt, last ? "the age file has bytes after its last chunk" : "the age file is cut short")
        }
        if last, plaintext.isEmpty, index > 0 {
            throw BatonError(.corrupt, "the age file ends with an empty chunk")
        }
        sawLast = last
        index += 1
        return plaintext
    }
}
