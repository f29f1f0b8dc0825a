/// Files in the age format (age-encryption.org/v1) with X25519
/// recipients, as Baton writes its replicas when encryption is on: any
/// `age -d -i key.txt` opens them, and Baton opens files `age -r` wrote.
///
/// What it protects: the contents (pages, checksums, TXIDs inside the
/// files), from anyone without an identity, and against alteration
/// (every chunk and the header are authenticated). What it does not: the
/// object names (which carry TXID ranges and levels) and sizes.
public enum AgeEncryption {
    static let fileKeyLength = 16

    /// `plaintext` encrypted to every one of `recipients` (any one identity opens it).
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient]) throws -> [UInt8] {
        var random = SystemRandomNumberGenerator()
        return try encrypt(plaintext, to: recipients, using: &random)
    }

    /// The same, drawing keys and nonces from `random` (tests).
    static func encrypt(
        _ plaintext: [UInt8], to recipients: [AgeRecipient], using random: inout some RandomNumberGenerator
    ) throws -> [UInt8] {
        var encryptor = try AgeEncryptor(recipients: recipients, using: &random)
        var out = encryptor.header
        out += encryptor.update(plaintext)
        out += encryptor.finish()
        return out
    }

    /// The plaintext of a whole age file, opened with the first of
    /// `identities` that is one of its recipients.
    public static func decrypt(_ file: [UInt8], with identities: [AgeIdentity]) throws -> [UInt8] {
        var decryptor = AgeDecryptor(identities: identities)
        var out = try decryptor.update(file[...])
        out += try decryptor.finish()
        return out
    }

    /// The plaintext size of an age file of `fileSize` bytes whose payload
    /// starts at `payloadOffset`; nil when no file has that size.
    public static func plaintextSize(fileSize: Int64, payloadOffset: Int) -> Int64? {
        let payload = fileSize - Int64(payloadOffset)
        let sealed = Int64(AgePayloadKey.sealedChunkSize)
        guard payload >= Int64(AgePayloadKey.tagSize) else { return nil }
        let chunks = (payload + sealed - 1) / sealed
        let last = payload - (chunks - 1) * sealed
        guard last >= Int64(AgePayloadKey.tagSize), chunks == 1 || last > Int64(AgePayloadKey.tagSize) else {
            return nil
        }
        return payload - chunks * Int64(AgePayloadKey.tagSize)
    }
}
