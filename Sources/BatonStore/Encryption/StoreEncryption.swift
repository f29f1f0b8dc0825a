import BatonCore
import BatonSystem

/// What a store's objects are encrypted to and opened with (age, X25519).
/// A writer needs an identity too: it reads its own files back (resume,
/// compaction, rebuilds), so its identity's recipient is always one of the
/// recipients; more recipients (an offline recovery key, the next key
/// while rotating) each open every file as well.
public struct StoreEncryption: Sendable {
    /// Every new object is encrypted to each of these.
    public var recipients: [AgeRecipient]
    /// Objects are opened with the first of these that is one of their recipients.
    public var identities: [AgeIdentity]

    /// Encryption to `recipients` and, unless already listed, each identity's own recipient.
    public init(recipients: [AgeRecipient], identities: [AgeIdentity]) {
        var all = recipients
        for identity in identities where !all.contains(identity.recipient) { all.append(identity.recipient) }
        self.recipients = all
        self.identities = identities
    }

    /// Reads the identity file and parses the recipients; nil when neither
    /// is given (objects are written plain). `forWriting`: the command
    /// writes to the store and so needs an identity. `warn` hears of an
    /// identity file others can read.
    public static func load(
        recipients: [String], identityFile: String?, forWriting: Bool, warn: (String) -> Void = { _ in }
    ) throws -> StoreEncryption? {
        guard !recipients.isEmpty || identityFile != nil else { return nil }
        let parsed = try recipients.map { try AgeRecipient(parsing: $0) }
        guard let identityFile else {
            if forWriting {
                throw BatonError(
                    .usage,
                    "an encrypted replica needs an identity too (--age-identity or encryption.identity): Baton reads its own files back"
                )
            }
            return StoreEncryption(recipients: parsed, identities: [])
        }
        let text: String
        do {
            text = String(decoding: try LocalFile(identityFile, .read).readAll(), as: UTF8.self)
        } catch {
            throw BatonError(.usage, "cannot read the age identity file \(identityFile): \(error)")
        }
        let identities = try AgeIdentity.parseFile(text, source: identityFile)
        if let warning = identityFileWarning(identityFile) { warn(warning) }
        return StoreEncryption(recipients: parsed, identities: identities)
    }

    /// A warning when users other than the owner may read or write the
    /// identity file (age-keygen writes it 0600): whoever reads it reads
    /// every replica encrypted to it.
    public static func identityFileWarning(_ path: String) -> String? {
        guard let mode = FileSystem.permissions(path), mode & 0o077 != 0 else { return nil }
        return "warning: the age identity file \(path) is readable or writable by others "
            + "(mode \(String(mode, radix: 8))): anyone who reads it can read the replica; chmod 600 \(path)"
    }
}
