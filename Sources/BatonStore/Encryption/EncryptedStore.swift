import BatonCore
import BatonSystem

/// A store whose objects are age files (see `AgeEncryption`): every object
/// put is encrypted to the recipients, except the lease (`lease.json`),
/// which nodes read every second or two and which holds nothing of the
/// database; every object read is decrypted when it is an age file and
/// passed through when it is not (a replica started before encryption was
/// turned on). Without encryption configured it writes plain objects and
/// answers an encrypted one with an error that says what is missing.
///
/// Listings show the stored (encrypted) sizes; ranged reads are in the
/// plaintext's offsets and fetch the 64 KiB chunks that hold the range.
public struct EncryptedStore: ObjectStore {
    /// The store the encrypted objects are in.
    public let inner: any ObjectStore
    /// nil: objects are written plain.
    public let encryption: StoreEncryption?

    /// `inner` with objects encrypted (or, with nil, only recognized) as `encryption` says.
    public init(_ inner: any ObjectStore, encryption: StoreEncryption?) {
        self.inner = inner
        self.encryption = encryption
    }

    static let magic = Array("age-encryption.org/v1\n".utf8)
    /// Bytes read with the first chunk to get the header too: room for about twenty recipients.
    static let headerRoom = 2048

    /// Whether objects written under `key` stay plain.
    static func isPlain(_ key: String) -> Bool { key == "lease.json" }

    static func isEncrypted(_ bytes: some Collection<UInt8>) -> Bool { bytes.starts(with: magic) }

    public var displayURL: String { inner.displayURL }

    public func folders(under prefix: String) async throws -> [String] {
        try await inner.folders(under: prefix)
    }

    public func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        try await inner.list(prefix: prefix, startAfter: startAfter)
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try plaintext(of: try await inner.get(key), key)
    }

    public func fetch(_ key: String) async throws -> FetchedObject? {
        guard var object = try await inner.fetch(key) else { return nil }
        object.bytes = try plaintext(of: object.bytes, key)
        return object
    }

    public func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        guard !range.isEmpty else { return [] }
        guard encryption != nil else {
            // Plain reads stay exact; an encrypted object's header says what is missing.
            let bytes = try await inner.get(key, range: range)
            if range.lowerBound == 0, Self.isEncrypted(bytes) { _ = try identitiesToOpen(key) }
            return bytes
        }
        let sealed = Int64(AgeOpenedFile.sealedChunkSize)
        let chunk = Int64(AgeOpenedFile.chunkSize)
        // Enough for the header and the range's chunks when it lies in the first one (LTX headers).
        let requested = max(range.upperBound, Int64(Self.headerRoom) + sealed)
        let head = try await inner.get(key, range: 0..<requested)
        guard Self.isEncrypted(head) else {
            let end = min(Int(range.upperBound), head.count)
            return Int(range.lowerBound) < end ? Array(head[Int(range.lowerBound)..<end]) : []
        }
        let opened = try open(head, key)
        let first = range.lowerBound / chunk
        let last = (range.upperBound - 1) / chunk
        let start = opened.chunkOffset(first)
        let end = opened.chunkOffset(last + 1)
        let bytes: ArraySlice<UInt8>
        if end <= Int64(head.count) || Int64(head.count) < requested {
            // In what was read already (a short read is the whole object).
            bytes = head[min(Int(start), head.count)..<min(Int(end), head.count)]
        } else {
            bytes = try await inner.get(key, range: start..<end)[...]
        }
        return try slice(bytes, chunks: first...last, opened: opened, range: range, key: key)
    }

    public func getTail(_ key: String, count: Int, storedSize: Int64) async throws -> [UInt8] {
        guard encryption != nil else {
            // The tail of an age file is ciphertext: its start tells (a rare read: starts, locks).
            let head = try await inner.get(key, range: 0..<Int64(Self.magic.count))
            if Self.isEncrypted(head) { _ = try identitiesToOpen(key) }
            return try await inner.getTail(key, count: count, storedSize: storedSize)
        }
        let sealed = Int64(AgeOpenedFile.sealedChunkSize)
        // Small objects (most LTX files) whole, in one request.
        if storedSize <= Int64(Self.headerRoom) + 2 * sealed {
            return Array(try await get(key).suffix(count))
        }
        let head = try await inner.get(key, range: 0..<Int64(Self.headerRoom))
        guard Self.isEncrypted(head) else {
            return try await inner.get(key, range: max(0, storedSize - Int64(count))..<storedSize)
        }
        let opened = try open(head, key)
        let payload = storedSize - opened.chunkOffset(0)
        let lastIndex = (payload + sealed - 1) / sealed - 1
        let lastPlain = payload - lastIndex * sealed - Int64(AgeOpenedFile.tagSize)
        let chunk = Int64(AgeOpenedFile.chunkSize)
        let more = Int64(count) > lastPlain ? (Int64(count) - lastPlain + chunk - 1) / chunk : 0
        let firstIndex = max(0, lastIndex - more)
        let bytes = try await inner.get(key, range: opened.chunkOffset(firstIndex)..<storedSize)
        let plain = try decryptChunks(bytes[...], chunks: firstIndex...lastIndex, opened: opened, key: key)
        return Array(plain.suffix(count))
    }

    public func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        let (path, isTemporary) = try await inner.localCopy(key, scratchDirectory: scratchDirectory)
        let peek = try await BlockingWork.run { try LocalFile(path, .read).read(at: 0, count: Self.magic.count) }
        guard Self.isEncrypted(peek) else { return (path, isTemporary) }
        defer { if isTemporary { try? FileSystem.remove(path) } }
        let identities = try identitiesToOpen(key)
        let output = FileSystem.temporaryPath(next: scratchDirectory + "/decrypted")
        do {
            try await BlockingWork.run {
                try EncryptedFile.decrypt(path, to: output, identities: identities)
            }
        } catch let error as BatonError {
            try? FileSystem.remove(output)
            throw BatonError(error.code, "\(displayURL)/\(key): \(error.message)")
        }
        return (output, true)
    }

    @discardableResult
    public func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        guard let encryption, !Self.isPlain(key) else {
            return try await inner.put(key, data: data, condition: condition)
        }
        return try await inner.put(
            key, data: try AgeEncryption.encrypt(data, to: encryption.recipients), condition: condition)
    }

    @discardableResult
    public func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String {
        guard let encryption, !Self.isPlain(key) else {
            return try await inner.upload(key, fromFile: path, condition: condition)
        }
        let sealed = FileSystem.temporaryPath(next: path + ".age")
        defer { try? FileSystem.remove(sealed) }
        try await BlockingWork.run { try EncryptedFile.encrypt(path, to: sealed, recipients: encryption.recipients) }
        return try await inner.upload(key, fromFile: sealed, condition: condition)
    }

    public func delete(_ key: String, ifMatch: String?) async throws {
        try await inner.delete(key, ifMatch: ifMatch)
    }

    public func storeTimeMilliseconds() async throws -> Int64 {
        try await inner.storeTimeMilliseconds()
    }

    // MARK: - Opening

    private func identitiesToOpen(_ key: String) throws -> [AgeIdentity] {
        guard let identities = encryption?.identities, !identities.isEmpty else {
            throw BatonError(
                .decryption,
                "\(displayURL)/\(key) is encrypted (age): give its identity with --age-identity FILE or encryption.identity"
            )
        }
        return identities
    }

    private func plaintext(of bytes: [UInt8], _ key: String) throws -> [UInt8] {
        guard Self.isEncrypted(bytes) else { return bytes }
        let identities = try identitiesToOpen(key)
        do {
            return try AgeEncryption.decrypt(bytes, with: identities)
        } catch let error as BatonError {
            throw BatonError(error.code, "\(displayURL)/\(key): \(error.message)")
        }
    }

    private func open(_ head: [UInt8], _ key: String) throws -> AgeOpenedFile {
        let identities = try identitiesToOpen(key)
        do {
            guard let opened = try AgeOpenedFile.open(prefix: head, identities: identities) else {
                throw BatonError(.corrupt, "its age header is longer than \(head.count) bytes")
            }
            return opened
        } catch let error as BatonError {
            throw BatonError(error.code, "\(displayURL)/\(key): \(error.message)")
        }
    }

    /// The plaintext of consecutive sealed chunks `chunks` held in `bytes`.
    private func decryptChunks(
        _ bytes: ArraySlice<UInt8>, chunks: ClosedRange<Int64>, opened: AgeOpenedFile, key: String
    ) throws -> [UInt8] {
        var plain: [UInt8] = []
        var offset = bytes.startIndex
        for index in chunks {
            guard offset < bytes.endIndex else { break }
            let end = min(offset + AgeOpenedFile.sealedChunkSize, bytes.endIndex)
            do {
                let chunk = try opened.openChunk(bytes[offset..<end], index: index)
                plain += chunk.plaintext
                if chunk.last { break }
            } catch let error as BatonError {
                throw BatonError(error.code, "\(displayURL)/\(key): \(error.message)")
            }
            offset = end
        }
        return plain
    }

    /// Plaintext bytes `range` from the sealed chunks `chunks` in `bytes`.
    private func slice(
        _ bytes: ArraySlice<UInt8>, chunks: ClosedRange<Int64>, opened: AgeOpenedFile, range: Range<Int64>, key: String
    ) throws -> [UInt8] {
        let plain = try decryptChunks(bytes, chunks: chunks, opened: opened, key: key)
        let base = chunks.lowerBound * Int64(AgeOpenedFile.chunkSize)
        let start = Int(range.lowerBound - base)
        let end = min(Int(range.upperBound - base), plain.count)
        return start < end ? Array(plain[start..<end]) : []
    }
}
