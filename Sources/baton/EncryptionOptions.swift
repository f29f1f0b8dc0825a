import ArgumentParser
import BatonStore

/// `--age-recipient` and `--age-identity`, for every command that reads
/// or writes a replica.
struct EncryptionOptions: ParsableArguments {
    @Option(
        name: .customLong("age-recipient"),
        help: ArgumentHelp(
            "Writers: also encrypt new files to this age recipient (age1…); repeat for several.",
            discussion: "The identity's own recipient is always one; add a recovery key or the next key while rotating."
        ))
    var recipients: [String] = []

    @Option(
        name: .customLong("age-identity"),
        help: ArgumentHelp(
            "An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) that opens an encrypted replica; commands that write also encrypt new files to it.",
            valueName: "file"))
    var identity: String?

    /// The encryption these options ask for (nil: none), read now so a bad
    /// key fails before anything starts. `forWriting`: the command writes
    /// to the store, so an identity is required with recipients.
    func load(forWriting: Bool) throws -> StoreEncryption? {
        try StoreEncryption.load(
            recipients: recipients, identityFile: identity, forWriting: forWriting, warn: Output.note)
    }
}
