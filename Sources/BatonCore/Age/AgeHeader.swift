import Crypto

/// The header of an age file (age-encryption.org/v1): the version line,
/// one stanza per recipient, and an HMAC of all of it under a key derived
/// from the file key, so that nobody without an identity can alter it.
///
/// The parser is strict (LF only, canonical base64, 64-column bodies), as
/// the format asks; it does not check the MAC — `verify` does, once a
/// stanza gave the file key.
struct AgeHeader: Sendable {
    var stanzas: [AgeStanza]
    /// HMAC-SHA-256 of `macInput`.
    var mac: [UInt8]
    /// The header's bytes up to and including `---`.
    var macInput: [UInt8]
    /// Bytes of the header, its final line included (the payload's nonce follows).
    var length: Int

    static let versionLine = Array("age-encryption.org/v1".utf8)
    static let macLabel = Array("header".utf8)

    /// What parsing a prefix of a file found.
    enum Parsed {
        case header(AgeHeader)
        /// The bytes end before the header does.
        case truncated
    }

    /// A header for `stanzas`, authenticated with `fileKey`.
    init(stanzas: [AgeStanza], fileKey: [UInt8]) {
        var input = Self.versionLine + [0x0A]
        for stanza in stanzas { input += stanza.encoded }
        input += Array("---".utf8)
        self.stanzas = stanzas
        self.macInput = input
        self.mac = Self.mac(of: input, fileKey: fileKey)
        self.length = input.count + 1 + AgeBase64.encode(mac).utf8.count + 1
    }

    private init(stanzas: [AgeStanza], mac: [UInt8], macInput: [UInt8], length: Int) {
        self.stanzas = stanzas
        self.mac = mac
        self.macInput = macInput
        self.length = length
    }

    /// The header as written.
    var encoded: [UInt8] { macInput + [0x20] + Array(AgeBase64.encode(mac).utf8) + [0x0A] }

    /// Whether `fileKey` authenticates this header (constant time).
    func verify(fileKey: [UInt8]) -> Bool {
        let expected = Self.mac(of: macInput, fileKey: fileKey)
        guard expected.count == mac.count else { return false }
        return zip(expected, mac).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func mac(of input: [UInt8], fileKey: [UInt8]) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: fileKey), salt: [UInt8](), info: macLabel, outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
    }

    /// Parses the header at the start of `bytes`.
    static func parse(_ bytes: [UInt8]) throws -> Parsed {
        var lines = LineReader(bytes: bytes)
        guard let version = lines.next() else { return .truncated }
        guard version == ArraySlice(versionLine) else {
            throw BatonError(.corrupt, "not an age file (its first line is not age-encryption.org/v1)")
        }
        var stanzas: [AgeStanza] = []
        while true {
            guard let line = lines.next() else { return .truncated }
            if line.starts(with: Array("--- ".utf8)) {
                guard let mac = AgeBase64.decode(String(decoding: line.dropFirst(4), as: UTF8.self)), mac.count == 32
                else { throw BatonError(.corrupt, "the age header's MAC line is malformed") }
                let input = Array(bytes[..<(line.startIndex + 3)])
                return .header(AgeHeader(stanzas: stanzas, mac: mac, macInput: input, length: lines.offset))
            }
            guard line.starts(with: Array("-> ".utf8)) else {
                throw BatonError(.corrupt, "the age header has a malformed line (neither a stanza nor its end)")
            }
            let words = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
            guard let type = words.first, words.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 33 && $0 <= 126 } })
            else { throw BatonError(.corrupt, "an age stanza's argument line is malformed") }
            var body: [UInt8] = []
            while true {
                guard let bodyLine = lines.next() else { return .truncated }
                guard bodyLine.count <= AgeStanza.columns,
                    let decoded = AgeBase64.decode(String(decoding: bodyLine, as: UTF8.self))
                else { throw BatonError(.corrupt, "an age stanza's body is not canonical base64") }
                body += decoded
                if bodyLine.count < AgeStanza.columns { break }
            }
            stanzas.append(
                AgeStanza(
                    type: String(decoding: type, as: UTF8.self),
                    arguments: words.dropFirst().map { String(decoding: $0, as: UTF8.self) }, body: body))
        }
    }

    /// LF-terminated lines of a byte buffer; a line without its LF is not returned.
    private struct LineReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func next() -> ArraySlice<UInt8>? {
            guard let end = bytes[offset...].firstIndex(of: 0x0A) else { return nil }
            let line = bytes[offset..<end]
            offset = end + 1
            return line
        }
    }
}
