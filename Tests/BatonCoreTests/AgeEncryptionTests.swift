import Foundation
import Testing

@testable import BatonCore

/// The age format: files `age` 1.1.1 wrote open here, files written here
/// open only with a recipient's identity, and any change to a file is refused.
@Suite struct AgeEncryptionTests {
    /// A key pair `age-keygen` 1.1.1 made, and a file `age -r` encrypted to it.
    static let keygenIdentity = "AGE-SECRET-KEY-17Z97CK4FRJ83MFXLGGSMR7R9HCC5DN66UTRU5JNRQW8FC7T67PNSQUUXG7"
    static let keygenRecipient = "age1htv8rtnsxwwxzld0sw6f9c3xzftyaxy0mdwaxvs2ml6skvzztcsqzd9gt6"
    static let ageFile =
        "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBFMUY4cEcwM3lCbjJoS0l5MXMxTUNwUlQrdEJxU2x0bTBDMnlpaGF3Q0RZCktodmNwaEg4VGwvanMwc3MxU3dJVUVOSmZVNXUyMGhPUEwzZXoyR1IyNmsKLS0tIDRTb09PT214TldOSUpjQzBmd1F0WUs3WUdHU05mQmFpSEx2TGs2MWZWZlkKUwI49Owl8H9pgU/ElFeG7lyAVhrMbqBTJBwS7plcDefWCFQ1SGiTAIqiW7UBCINrIWJjMfc="

    /// A generator that repeats, so tests are the same every run.
    struct Counter: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }

    @Test func anIdentityFromAgeKeygenGivesTheRecipientItPrinted() throws {
        let identity = try AgeIdentity(parsing: Self.keygenIdentity)
        #expect(identity.recipient.description == Self.keygenRecipient)
        #expect(identity.encoded == Self.keygenIdentity)
        #expect(try AgeRecipient(parsing: Self.keygenRecipient) == identity.recipient)
    }

    @Test func aFileAgeWroteOpensWithItsIdentity() throws {
        let file = [UInt8](Data(base64Encoded: Self.ageFile)!)
        let plaintext = try AgeEncryption.decrypt(file, with: [try AgeIdentity(parsing: Self.keygenIdentity)])
        #expect(String(decoding: plaintext, as: UTF8.self) == "hello from age 1.1.1\n")
    }

    @Test func whatIsWrittenOpensWithAnyRecipientsIdentityAndNoOther() throws {
        var random = Counter(state: 7)
        let (first, second, stranger) = (
            AgeIdentity.generate(using: &random), AgeIdentity.generate(using: &random),
            AgeIdentity.generate(using: &random)
        )
        // Sizes around the 64 KiB chunk boundary, where the last-chunk rule matters.
        for size in [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_000] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let file = try AgeEncryption.encrypt(plaintext, to: [first.recipient, second.recipient], using: &random)
            #expect(try AgeEncryption.decrypt(file, with: [first]) == plaintext)
            #expect(try AgeEncryption.decrypt(file, with: [stranger, second]) == plaintext)
            let refused = #expect(throws: BatonError.self) { try AgeEncryption.decrypt(file, with: [stranger]) }
            #expect(refused?.code == .decryption)
            let opened = try #require(try AgeOpenedFile.open(prefix: file, identities: [first]))
            #expect(
                AgeEncryption.plaintextSize(fileSize: Int64(file.count), payloadOffset: opened.payloadOffset)
                    == Int64(size))
            #expect(!file.starts(with: plaintext) || size == 0)
        }
    }

    @Test func anyChangedByteOrACutIsRefused() throws {
        var random = Counter(state: 11)
        let identity = AgeIdentity.generate(using: &random)
        let plaintext = (0..<(2 * 65_536 + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let file = try AgeEncryption.encrypt(plaintext, to: [identity.recipient], using: &random)
        // A byte of each part: version line, stanza, MAC, nonce, first chunk, last chunk's tag.
        for offset in [3, 40, 130, file.count - 2 * 65_552 - 120, file.count - 65_552 - 200, file.count - 1] {
            var changed = file
            changed[offset] ^= 0x01
            #expect(throws: BatonError.self) { try AgeEncryption.decrypt(changed, with: [identity]) }
        }
        // Cut at a chunk boundary (the rest would authenticate but for the last-chunk flag), or anywhere.
        let opened = try #require(try AgeOpenedFile.open(prefix: file, identities: [identity]))
        for cut in [Int(opened.chunkOffset(1)), Int(opened.chunkOffset(2)), file.count - 1, opened.payloadOffset] {
            #expect(throws: BatonError.self) { try AgeEncryption.decrypt(Array(file[..<cut]), with: [identity]) }
        }
        #expect(throws: BatonError.self) { try AgeEncryption.decrypt(file + [0], with: [identity]) }
    }

    @Test func oneChunkOpensOnItsOwnForRangedReads() throws {
        var random = Counter(state: 5)
        let identity = AgeIdentity.generate(using: &random)
        let plaintext = (0..<(3 * 65_536 + 10)).map { UInt8(truncatingIfNeeded: $0 >> 3) }
        let file = try AgeEncryption.encrypt(plaintext, to: [identity.recipient], using: &random)
        let opened = try #require(try AgeOpenedFile.open(prefix: Array(file.prefix(300)), identities: [identity]))
        for index: Int64 in 0...3 {
            let start = Int(opened.chunkOffset(index))
            let end = min(start + AgeOpenedFile.sealedChunkSize, file.count)
            let chunk = try opened.openChunk(file[start..<end], index: index)
            let plainStart = Int(index) * AgeOpenedFile.chunkSize
            #expect(chunk.plaintext == Array(plaintext[plainStart..<min(plainStart + 65_536, plaintext.count)]))
            #expect(chunk.last == (index == 3))
        }
        // A chunk at another position does not open.
        let first = Int(opened.chunkOffset(0))
        #expect(throws: BatonError.self) {
            try opened.openChunk(file[first..<(first + AgeOpenedFile.sealedChunkSize)], index: 1)
        }
        #expect(try AgeOpenedFile.open(prefix: Array(file.prefix(20)), identities: [identity]) == nil)
    }

    @Test func keysAreParsedStrictlyWithLinesThatDoNotShowTheSecret() throws {
        let file = """
            # created: 2026-12-07T15:44:15Z
            # public key: \(Self.keygenRecipient)
            \(Self.keygenIdentity)

            """
        #expect(try AgeIdentity.parseFile(file, source: "key.txt").map(\.encoded) == [Self.keygenIdentity])
        var typo = Array(Self.keygenIdentity)
        typo[40] = typo[40] == "Q" ? "P" : "Q"
        let refused = #expect(throws: BatonError.self) {
            try AgeIdentity.parseFile("# a key\n" + String(typo), source: "key.txt")
        }
        #expect(refused?.message.hasPrefix("key.txt, line 2:") == true)
        #expect(refused?.message.contains(String(typo)) == false)
        #expect(throws: BatonError.self) { try AgeIdentity.parseFile("# nothing\n", source: "key.txt") }
        #expect(throws: BatonError.self) { try AgeRecipient(parsing: Self.keygenRecipient.uppercased()) }
        #expect(throws: BatonError.self) { try AgeRecipient(parsing: "ssh-ed25519 AAAAC3Nza") }
        #expect(throws: BatonError.self) { try AgeRecipient(parsing: Self.keygenIdentity) }
    }

    @Test func bech32FollowsBIP173() {
        for valid in [
            "A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        ] {
            #expect(Bech32.decode(valid) != nil, "\(valid)")
        }
        for invalid in [
            "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "A1G7SGD8", "a12UEL5L", "10a06t8",
            "1qzzfhee",
        ] {
            #expect(Bech32.decode(invalid) == nil, "\(invalid)")
        }
        let data: [UInt8] = [0, 1, 2, 254, 255, 128]
        let encoded = Bech32.encode(hrp: "test", data: data)
        #expect(Bech32.decode(encoded)?.data == data)
        #expect(Bech32.decode(encoded)?.hrp == "test")
    }
}
