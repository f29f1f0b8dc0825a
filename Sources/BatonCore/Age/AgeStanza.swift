/// One recipient stanza of an age header: `-> TYPE ARGS…` and a body that
/// wraps the file key for that recipient.
struct AgeStanza: Equatable, Sendable {
    var type: String
    var arguments: [String]
    var body: [UInt8]

    /// The stanza as it is written: the argument line, then the body in
    /// unpadded base64, 64 columns per line, the last line shorter (maybe empty).
    var encoded: [UInt8] {
        var out = Array("-> ".utf8) + Array(([type] + arguments).joined(separator: " ").utf8) + [0x0A]
        let text = Array(AgeBase64.encode(body).utf8)
        var start = 0
        while true {
            let end = min(start + AgeStanza.columns, text.count)
            out += text[start..<end]
            out.append(0x0A)
            if end - start < AgeStanza.columns { break }
            start = end
        }
        return out
    }

    static let columns = 64
}
