import Crypto
import Foundation

/// An age X25519 identity (`AGE-SECRET-KEY-1…`): the secret key that opens
/// files encrypted to its recipient.
public struct AgeIdentity: Sendable {
    /// The X25519 secret scalar (as written, before clamping).
    let secretKey: [UInt8]

    static let hrp = "age-secret-key-"

    /// Parses one `AGE-SECRET-KEY-1…` line.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let (hrp, data) = Bech32.decode(trimmed), hrp == Self.hrp, data.count == 32,
            trimmed == trimmed.uppercased()
        else {
            throw BatonError(
                .usage,
                "\(Self.redacted(trimmed)) is not an age identity (expected AGE-SECRET-KEY-1… as age-keygen writes it)")
        }
        secretKey = data
    }

    /// An identity from 32 secret bytes (`generate` draws them).
    init(secretKey: [UInt8]) {
        precondition(secretKey.count == 32, "an X25519 secret key has 32 bytes")
        self.secretKey = secretKey
    }

    /// A new random identity.
    public static func generate() -> AgeIdentity {
        var random = SystemRandomNumberGenerator()
        return generate(using: &random)
    }

    /// A new identity drawn from `random`.
    public static func generate(using random: inout some RandomNumberGenerator) -> AgeIdentity {
        AgeIdentity(secretKey: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) })
    }

    /// Every identity in a key file as `age-keygen` writes it: one per
    /// line, `#` comments and blank lines ignored. `source` names the file
    /// in errors.
    public static func parseFile(_ text: String, source: String) throws -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                identities.append(try AgeIdentity(parsing: line))
            } catch let error as BatonError {
                throw BatonError(.usage, "\(source), line \(number + 1): \(error.message)")
            }
        }
        guard !identities.isEmpty else {
            throw BatonError(.usage, "\(source) holds no age identity (AGE-SECRET-KEY-1… lines)")
        }
        return identities
    }

    /// `AGE-SECRET-KEY-1…`.
    public var encoded: String { Bech32.encode(hrp: Self.hrp, data: secretKey).uppercased() }

    /// The recipient files for this identity are encrypted to.
    public var recipient: AgeRecipient {
        // 32 bytes always make a key: swift-crypto clamps the scalar.
        let key = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: secretKey)
        return AgeRecipient(publicKey: Array(key.publicKey.rawRepresentation))
    }

    /// What an error may show of text that might be a secret key: its start only.
    static func redacted(_ text: String) -> String {
        let shown = text.count > 16 ? String(text.prefix(12)) + "…" : text
        return "'\(shown)'"
    }
}
