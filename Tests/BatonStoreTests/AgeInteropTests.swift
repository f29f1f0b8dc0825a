import BatonCore
import Foundation
import Testing

/// Baton's age files against the `age` tool itself (Debian's age 1.1):
/// what Baton encrypts, `age -d -i key.txt` opens to the same bytes, with
/// any of several recipients' keys; what `age -r` encrypts, Baton opens.
@Suite struct AgeInteropTests {
    /// Runs `arguments`, returning standard output; fails on a non-zero exit.
    @discardableResult
    func run(_ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        // Written from another thread: the child's output pipe could fill while we write.
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(Data(input)) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0,
            "\(arguments.joined(separator: " ")) failed (is Debian's age installed? scripts/setup installs it): \(message)"
        )
        return [UInt8](data)
    }

    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("baton-age-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A key file made by age-keygen, and its identities as Baton reads them.
    func keygen(in folder: URL, _ name: String) throws -> (path: String, identities: [AgeIdentity]) {
        let path = folder.appendingPathComponent(name).path
        try run(["age-keygen", "-o", path])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return (path, try AgeIdentity.parseFile(text, source: path))
    }

    @Test func whatBatonEncryptsAgeDecryptsWithAnyRecipientsKey() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (oldKey, old) = try keygen(in: folder, "old.txt")
        let (newKey, new) = try keygen(in: folder, "new.txt")
        var random = SystemRandomNumberGenerator()
        for size in [0, 100, 65_536, 300_001] {
            let plaintext = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let file = folder.appendingPathComponent("object-\(size).age")
            try Data(try AgeEncryption.encrypt(plaintext, to: [old[0].recipient, new[0].recipient])).write(to: file)
            #expect(try run(["age", "-d", "-i", oldKey, file.path]) == plaintext, "size \(size), first key")
            #expect(try run(["age", "-d", "-i", newKey, file.path]) == plaintext, "size \(size), second key")
        }
    }

    @Test func whatAgeEncryptsBatonDecryptsAsItStreamsIn() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (_, identities) = try keygen(in: folder, "key.txt")
        var random = SystemRandomNumberGenerator()
        let plaintext = (0..<250_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let file = try run(["age", "-r", identities[0].recipient.description], input: plaintext)
        var decryptor = AgeDecryptor(identities: identities)
        var opened: [UInt8] = []
        var offset = 0
        // Pieces of odd sizes, as a download arrives.
        while offset < file.count {
            let end = min(offset + Int.random(in: 1...40_000, using: &random), file.count)
            opened += try decryptor.update(file[offset..<end])
            offset = end
        }
        opened += try decryptor.finish()
        #expect(opened == plaintext)
        #expect(throws: BatonError.self) {
            try AgeEncryption.decrypt(file, with: [AgeIdentity.generate()])
        }
    }
}
