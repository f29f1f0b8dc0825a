/// Lines of an append-only text file (a journal, a cache, a record): only
/// whole ones, each ended by a newline; a torn last line is left out.
public enum TextLines {
    /// The whole lines of `bytes`, without their newlines.
    public static func whole(_ bytes: [UInt8]) -> [Substring] {
        let text = String(decoding: bytes, as: UTF8.self)
        var rows = text.split(separator: "\n", omittingEmptySubsequences: false)
        // After the last newline comes an empty row, or a line cut short.
        if !rows.isEmpty { rows.removeLast() }
        return rows
    }
}
