/// A file name pattern as shells write them: `*` matches any run of
/// characters (including none), `?` exactly one, everything else itself.
/// Character classes (`[abc]`) are not supported; `[` matches itself.
public struct GlobPattern: Sendable, Equatable {
    private let pattern: [Character]

    /// The pattern `text`.
    public init(_ text: String) { pattern = Array(text) }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        let name = Array(name)
        var p = 0
        var n = 0
        // Where the last `*` was and how much of the name it has taken so far.
        var star: Int?
        var starName = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == name[n] && pattern[p] != "*" {
                p += 1
                n += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                starName = n
                p += 1
            } else if let star {
                // Let the last `*` take one more character and try again.
                p = star + 1
                starName += 1
                n = starName
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
