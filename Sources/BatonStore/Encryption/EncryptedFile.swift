import BatonCore
import BatonSystem

/// Encrypts and decrypts whole local files as age files, a chunk at a time
/// (memory stays at a few chunks whatever the size: snapshots of large
/// databases are uploaded and downloaded so).
enum EncryptedFile {
    /// Bytes read from the source per step.
    static let step = 1 << 20

    /// Writes `source` encrypted to `recipients` as `destination` (a new file).
    static func encrypt(_ source: String, to destination: String, recipients: [AgeRecipient]) throws {
        var encryptor = try AgeEncryptor(recipients: recipients)
        try transform(source, to: destination, first: encryptor.header) { bytes, atEnd in
            var out = encryptor.update(bytes)
            if atEnd { out += encryptor.finish() }
            return out
        }
    }

    /// Writes the plaintext of the age file `source` as `destination` (a new file).
    static func decrypt(_ source: String, to destination: String, identities: [AgeIdentity]) throws {
        var decryptor = AgeDecryptor(identities: identities)
        try transform(source, to: destination, first: []) { bytes, atEnd in
            var out = try decryptor.update(bytes[...])
            if atEnd { out += try decryptor.finish() }
            return out
        }
    }

    private static func transform(
        _ source: String, to destination: String, first: [UInt8],
        _ step: (_ bytes: [UInt8], _ atEnd: Bool) throws -> [UInt8]
    ) throws {
        let input = try LocalFile(source, .read)
        let output = try LocalFile(destination, .createNew)
        do {
            var readOffset: Int64 = 0
            var writeOffset: Int64 = 0
            try output.write(first, at: 0)
            writeOffset = Int64(first.count)
            while true {
                let bytes = try input.read(at: readOffset, count: Self.step)
                readOffset += Int64(bytes.count)
                let atEnd = bytes.count < Self.step
                let out = try step(bytes, atEnd)
                try output.write(out, at: writeOffset)
                writeOffset += Int64(out.count)
                if atEnd { break }
            }
        } catch {
            try? FileSystem.remove(destination)
            throw error
        }
    }
}
