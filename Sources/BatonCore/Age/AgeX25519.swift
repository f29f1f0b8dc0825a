import Crypto

/// The X25519 recipient type of age: the file key wrapped with a key
/// agreed between a fresh ephemeral key and the recipient's public key.
enum AgeX25519 {
    static let type = "X25519"
    static let label = Array("age-encryption.org/v1/X25519".utf8)

    /// A stanza wrapping `fileKey` for `recipient`, with an ephemeral secret drawn from `random`.
    static func wrap(
        _ fileKey: [UInt8], for recipient: AgeRecipient, using random: inout some RandomNumberGenerator
    ) throws -> AgeStanza {
        let ephemeral = try Curve25519.KeyAgreement.PrivateKey(
            rawRepresentation: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) })
        let share = Array(ephemeral.publicKey.rawRepresentation)
        let shared = try agree(ephemeral, recipient.publicKey)
        let key = wrapKey(shared: shared, share: share, recipient: recipient.publicKey)
        let sealed = try ChaChaPoly.seal(fileKey, using: key, nonce: ChaChaPoly.Nonce(data: zeroNonce))
        return AgeStanza(type: type, arguments: [AgeBase64.encode(share)], body: Array(sealed.ciphertext + sealed.tag))
    }

    /// The file key, if `stanza` is an X25519 stanza for `identity`; nil
    /// when it is for someone else. A malformed X25519 stanza throws.
    static func unwrap(_ stanza: AgeStanza, with identity: AgeIdentity) throws -> [UInt8]? {
        guard stanza.type == type else { return nil }
        guard stanza.arguments.count == 1, let share = AgeBase64.decode(stanza.arguments[0]), share.count == 32,
            stanza.body.count == AgeEncryption.fileKeyLength + 16
        else { throw BatonError(.corrupt, "an X25519 stanza of the age header is malformed") }
        let secret = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: identity.secretKey)
        guard let shared = try? agree(secret, share) else { return nil }
        let key = wrapKey(shared: shared, share: share, recipient: Array(secret.publicKey.rawRepresentation))
        let box = try ChaChaPoly.SealedBox(
            nonce: ChaChaPoly.Nonce(data: zeroNonce), ciphertext: stanza.body.prefix(AgeEncryption.fileKeyLength),
            tag: stanza.body.suffix(16))
        // Not ours (or forged): another identity may open it.
        return try? Array(ChaChaPoly.open(box, using: key))
    }

    private static let zeroNonce = [UInt8](repeating: 0, count: 12)

    /// The shared secret; an all-zero one (a low-order point) is refused, as age refuses it.
    private static func agree(_ secret: Curve25519.KeyAgreement.PrivateKey, _ publicKey: [UInt8]) throws -> [UInt8] {
        let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey)
        let shared = try secret.sharedSecretFromKeyAgreement(with: peer).withUnsafeBytes { Array($0) }
        guard shared.contains(where: { $0 != 0 }) else {
            throw BatonError(.corrupt, "an X25519 share of the age header is a low-order point")
        }
        return shared
    }

    private static func wrapKey(shared: [UInt8], share: [UInt8], recipient: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: shared), salt: share + recipient, info: label, outputByteCount: 32)
    }
}
