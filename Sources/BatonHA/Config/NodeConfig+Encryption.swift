import BatonStore

extension NodeConfig {
    /// The replica's encryption from `encryption:` (nil: none), its
    /// identity file read now, so a bad key stops the node before it starts;
    /// `warn` hears of an identity file others can read.
    public func storeEncryption(warn: (String) -> Void = { _ in }) throws -> StoreEncryption? {
        try StoreEncryption.load(
            recipients: encryptionRecipients, identityFile: encryptionIdentity, forWriting: true, warn: warn)
    }
}
