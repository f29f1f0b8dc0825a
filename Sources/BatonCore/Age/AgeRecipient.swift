import Crypto
import Foundation

/// An age X25519 recipient (`age1…`): a public key files are encrypted to.
public struct AgeRecipient: Sendable, Equatable, CustomStringConvertible {
    /// The X25519 public key.
    public let publicKey: [UInt8]

    static let hrp = "age"

    /// Parses `age1…`; a clear error for anything else (another plugin's
    /// recipient, an SSH key, a typo).
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let (hrp, data) = Bech32.decode(trimmed), hrp == Self.hrp, data.count == 32,
            trimmed == trimmed.lowercased()
        else {
            throw BatonError(
                .usage,
                "\(AgeIdentity.redacted(trimmed)) is not an age X25519 recipient (expected age1… as age-keygen prints it)"
            )
        }
        publicKey = data
    }

    /// The recipient of a raw public key.
    public init(publicKey: [UInt8]) {
        precondition(publicKey.count == 32, "an X25519 public key has 32 bytes")
        self.publicKey = publicKey
    }

    /// `age1…`.
    public var description: String { Bech32.encode(hrp: Self.hrp, data: publicKey) }
}
