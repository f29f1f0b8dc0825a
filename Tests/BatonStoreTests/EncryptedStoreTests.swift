import BatonCore
import BatonSystem
import Foundation
import Testing

@testable import BatonStore

/// A store with encryption on: what it stores is an age file to every
/// recipient (the lease excepted), every read gives back the plaintext —
/// whole, ranged across chunk boundaries, tails, local copies — and what
/// cannot be opened says so in one line.
@Suite(.serialized) struct EncryptedStoreTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("baton-enc-\(UUID().uuidString)").path
    let identity = AgeIdentity.generate()
    let recovery = AgeIdentity.generate()

    var encryption: StoreEncryption { StoreEncryption(recipients: [recovery.recipient], identities: [identity]) }

    func plain(_ count: Int, seed: UInt8 = 3) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &+ $0 >> 9) }
    }

    /// Every read of an encrypted store: whole, ranges, tails, local copies.
    func expectReadsGivePlaintext(_ store: any ObjectStore, key: String, _ plaintext: [UInt8]) async throws {
        #expect(try await store.get(key) == plaintext)
        let count = Int64(plaintext.count)
        for range: Range<Int64> in [0..<100, 65_530..<65_545, 65_536..<65_537, 1..<count, (count - 16)..<count] {
            let expected = Array(plaintext[Int(range.lowerBound)..<Int(range.upperBound)])
            #expect(try await store.get(key, range: range) == expected, "range \(range) of \(count)")
        }
        let stored = try #require(try await store.list(prefix: key).first).size
        for tail in [16, 70_000] {
            #expect(try await store.getTail(key, count: tail, storedSize: stored) == Array(plaintext.suffix(tail)))
        }
        let scratch = folder + "/scratch"
        try FileSystem.makeDirectories(scratch)
        let (path, isTemporary) = try await store.localCopy(key, scratchDirectory: scratch)
        #expect(isTemporary)
        #expect(try LocalFile(path, .read).readAll() == plaintext)
        try FileSystem.remove(path)
    }

    @Test func anIdentityFileOthersCanReadIsLoadedWithAWarning() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileSystem.makeDirectories(folder)
        let path = folder + "/key.txt"
        let text = "# created: now\n\(identity.encoded)\n"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        var warnings: [String] = []
        for (mode, warned) in [(0o600, false), (0o640, true), (0o644, true), (0o400, false)] {
            #expect(chmod(path, mode_t(mode)) == 0)
            warnings = []
            let loaded = try #require(
                try StoreEncryption.load(
                    recipients: [], identityFile: path, forWriting: true, warn: { warnings.append($0) }))
            #expect(loaded.identities.map(\.recipient) == [identity.recipient])
            #expect(warnings.count == (warned ? 1 : 0), "mode \(String(mode, radix: 8))")
        }
        #expect(chmod(path, 0o604) == 0)
        let warning = try #require(StoreEncryption.identityFileWarning(path))
        #expect(warning.contains("mode 604") && warning.contains("chmod 600 \(path)"))
    }

    @Test func objectsAreStoredAsAgeFilesAndReadBackPlain() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let raw = FileStore(root: folder + "/store")
        let store = EncryptedStore(raw, encryption: encryption)
        let small = plain(200)
        let large = plain(300_001)
        try await store.put("ltx/0/small.ltx", data: small, condition: .ifNoneMatch)
        let source = folder + "/large"
        try FileSystem.makeDirectories(folder)
        try LocalFile(source, .createNew).write(large, at: 0)
        try await store.upload("ltx/9/large.ltx", fromFile: source, condition: .ifNoneMatch)
        try await store.put("lease.json", data: Array("{\"epoch\":1}".utf8), condition: .none)

        // What the bucket holds: age files that either recipient's identity opens; the lease as it is.
        let storedSmall = try await raw.get("ltx/0/small.ltx")
        #expect(storedSmall.starts(with: Array("age-encryption.org/v1\n".utf8)))
        #expect(try AgeEncryption.decrypt(storedSmall, with: [recovery]) == small)
        #expect(try AgeEncryption.decrypt(try await raw.get("ltx/9/large.ltx"), with: [identity]) == large)
        #expect(try await raw.get("lease.json") == Array("{\"epoch\":1}".utf8))
        #expect(try await store.fetch("lease.json")?.bytes == Array("{\"epoch\":1}".utf8))
        #expect(FileManager.default.fileExists(atPath: source))

        try await expectReadsGivePlaintext(store, key: "ltx/9/large.ltx", large)
        #expect(try await store.get("ltx/0/small.ltx", range: 150..<400) == Array(small[150...]))
        #expect(try await store.fetch("ltx/0/small.ltx")?.bytes == small)
        let storedSize = Int64(storedSmall.count)
        #expect(
            try await store.getTail("ltx/0/small.ltx", count: 16, storedSize: storedSize) == Array(small.suffix(16)))
    }

    @Test func plainObjectsReadThroughAndEncryptedOnesNeedTheirIdentity() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let raw = FileStore(root: folder + "/store")
        // Written before encryption was turned on.
        try await raw.put("ltx/0/old.ltx", data: plain(100), condition: .none)
        let store = EncryptedStore(raw, encryption: encryption)
        #expect(try await store.get("ltx/0/old.ltx") == plain(100))
        #expect(try await store.get("ltx/0/old.ltx", range: 10..<20) == Array(plain(100)[10..<20]))
        try await store.put("ltx/0/new.ltx", data: plain(100, seed: 9), condition: .none)

        let unkeyed = EncryptedStore(raw, encryption: nil)
        let missing = await #expect(throws: BatonError.self) { _ = try await unkeyed.get("ltx/0/new.ltx") }
        #expect(missing?.code == .decryption)
        #expect(missing?.message.contains("--age-identity") == true)
        await #expect(throws: BatonError.self) { _ = try await unkeyed.get("ltx/0/new.ltx", range: 0..<100) }
        let storedSize = try #require(try await raw.list(prefix: "ltx/0/new.ltx").first).size
        await #expect(throws: BatonError.self) {
            _ = try await unkeyed.getTail("ltx/0/new.ltx", count: 16, storedSize: storedSize)
        }
        // Plain objects read exactly what is asked (no chunk-sized reads without encryption).
        #expect(try await unkeyed.get("ltx/0/old.ltx", range: 10..<20) == Array(plain(100)[10..<20]))
        #expect(try await unkeyed.getTail("ltx/0/old.ltx", count: 10, storedSize: 100) == Array(plain(100).suffix(10)))
        // Listing needs no key: names and stored sizes.
        #expect(try await unkeyed.list(prefix: "ltx/").map(\.key) == ["ltx/0/new.ltx", "ltx/0/old.ltx"])

        let stranger = EncryptedStore(
            raw, encryption: StoreEncryption(recipients: [], identities: [AgeIdentity.generate()]))
        let refused = await #expect(throws: BatonError.self) { _ = try await stranger.get("ltx/0/new.ltx") }
        #expect(refused?.code == .decryption)
        #expect(refused?.message.contains("ltx/0/new.ltx") == true)

        // A changed byte in the bucket is refused, never returned.
        var stored = try await raw.get("ltx/0/new.ltx")
        stored[stored.count - 5] ^= 0x40
        try await raw.put("ltx/0/new.ltx", data: stored, condition: .none)
        let altered = await #expect(throws: BatonError.self) { _ = try await store.get("ltx/0/new.ltx") }
        #expect(altered?.code == .corrupt)
    }

    @Test func rangedReadsAndTailsWorkAgainstS3() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = EncryptedStore(try await moto.makeStore(), encryption: encryption)
        let large = plain(200_000, seed: 5)
        try FileSystem.makeDirectories(folder)
        try LocalFile(folder + "/large", .createNew).write(large, at: 0)
        try await store.upload("ltx/1/large.ltx", fromFile: folder + "/large", condition: .ifNoneMatch)
        try await expectReadsGivePlaintext(store, key: "ltx/1/large.ltx", large)
        let exact = plain(2 * 65_536, seed: 1)
        try await store.put("ltx/1/exact.ltx", data: exact, condition: .none)
        try await expectReadsGivePlaintext(store, key: "ltx/1/exact.ltx", exact)
    }
}
