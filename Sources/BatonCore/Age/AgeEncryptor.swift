/// Encrypts one age file as it is written: the header first, then the
/// payload chunk by chunk, holding at most one chunk (64 KiB) of plaintext.
public struct AgeEncryptor: Sendable {
    /// The header and the payload's nonce: the file's first bytes.
    public let header: [UInt8]
    private let key: AgePayloadKey
    private var pending: [UInt8] = []
    private var index: UInt64 = 0
    private var finished = false

    /// A new file for `recipients` (at least one), with a fresh file key.
    public init(recipients: [AgeRecipient]) throws {
        var random = SystemRandomNumberGenerator()
        try self.init(recipients: recipients, using: &random)
    }

    /// The same, drawing keys and nonces from `random` (tests).
    init(recipients: [AgeRecipient], using random: inout some RandomNumberGenerator) throws {
        guard !recipients.isEmpty else { throw BatonError(.usage, "encryption needs at least one age recipient") }
        let fileKey = (0..<AgeEncryption.fileKeyLength).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        var stanzas: [AgeStanza] = []
        for recipient in recipients { stanzas.append(try AgeX25519.wrap(fileKey, for: recipient, using: &random)) }
        let nonce = (0..<AgePayloadKey.nonceSize).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        header = AgeHeader(stanzas: stanzas, fileKey: fileKey).encoded + nonce
        key = AgePayloadKey(fileKey: fileKey, nonce: nonce)
    }

    /// The sealed chunks `plaintext` completes (a chunk is sealed once more
    /// bytes follow it: the last one is flagged as such).
    public mutating func update(_ plaintext: some Collection<UInt8>) -> [UInt8] {
        precondition(!finished, "update after finish")
        pending += plaintext
        var out: [UInt8] = []
        var start = 0
        while pending.count - start > AgePayloadKey.chunkSize {
            out += key.seal(pending[start..<(start + AgePayloadKey.chunkSize)], index: index, last: false)
            index += 1
            start += AgePayloadKey.chunkSize
        }
        if start > 0 { pending.removeFirst(start) }
        return out
    }

    /// The last chunk (an empty file has one empty chunk).
    public mutating func finish() -> [UInt8] {
        precondition(!finished, "finish twice")
        finished = true
        defer { pending = [] }
        return key.seal(pending[...], index: index, last: true)
    }
}
