import Foundation

/// Base64 as age writes it: the standard alphabet without padding, and
/// only the canonical form accepted (no `=`, no stray bits).
enum AgeBase64 {
    static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return text
    }

    /// nil unless `text` is canonical unpadded base64.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard !text.contains("="), text.count % 4 != 1 else { return text.isEmpty ? [] : nil }
        let padded = String(text) + String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: padded) else { return nil }
        let bytes = [UInt8](data)
        // Data accepts nonzero bits after the last whole byte; age does not.
        return encode(bytes) == text ? bytes : nil
    }
}
