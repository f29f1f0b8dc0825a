/// Just enough XML for S3's responses: the text of elements by name, in
/// document order, with the five predefined entities and numeric character
/// references decoded. S3 responses are flat and well formed.
enum S3XML {
    /// Texts of every `<name>…</name>` in `xml`.
    static func values(_ name: String, in xml: String) -> [String] {
        var results: [String] = []
        let open = "<\(name)>"
        let close = "</\(name)>"
        var rest = Substring(xml)
        while let start = rest.range(of: open) {
            let after = rest[start.upperBound...]
            guard let end = after.range(of: close) else { break }
            results.append(decode(String(after[..<end.lowerBound])))
            rest = after[end.upperBound...]
        }
        return results
    }

    /// The first text of `name`.
    static func value(_ name: String, in xml: String) -> String? { values(name, in: xml).first }

    /// Decodes entities.
    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else {
                result += rest[amp...]
                return result
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": result += "&"
            case "lt": result += "<"
            case "gt": result += ">"
            case "quot": result += "\""
            case "apos": result += "'"
            default:
                if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    result.unicodeScalars.append(scalar)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
                    let scalar = Unicode.Scalar(code)
                {
                    result.unicodeScalars.append(scalar)
                } else {
                    result += "&\(entity);"
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return result + rest
    }

    /// Escapes text for an XML body.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
