import BatonStore

extension NodeConfig {
    /// The replica's encryption from `encryption:` (nil: none), its
    /// identity file read now, so a bad key stops the node before it starts.
    public func storeEncryption() throws -> StoreEncryption? {
        try StoreEncryption.load(
            recipients: encryptionRecipients, identityFile: encryptionIdentity, forWriting: true)
    }
}
