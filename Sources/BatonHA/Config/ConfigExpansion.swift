import BatonCore

/// `${VAR}` and `${VAR:-default}` in config text, replaced from the
/// environment before the YAML is parsed; `$$` is a literal `$`. A variable
/// that is unset and has no default is an error naming it.
enum ConfigExpansion {
    static func expand(_ text: String, environment: [String: String], source: String) throws -> String {
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                output.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{", let close = text[next...].firstIndex(of: "}") else {
                output.append(character)
                index = next
                continue
            }
            let body = String(text[text.index(after: next)..<close])
            let name: String
            let fallback: String?
            if let range = body.range(of: ":-") {
                name = String(body[..<range.lowerBound])
                fallback = String(body[range.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw BatonError(.usage, "\(source): '${\(body)}' is not a variable reference")
            }
            if let value = environment[name], !value.isEmpty {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw BatonError(
                    .usage,
                    "\(source): environment variable \(name) is not set (write ${\(name):-default} for a default)")
            }
            index = text.index(after: close)
        }
        return output
    }
}
