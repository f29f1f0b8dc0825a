import BatonCore

/// The rules every store applies to keys: relative, non-empty, no `.` or `..` segments.
enum ObjectKey {
    static func validate(_ key: String) throws {
        guard !key.isEmpty, !key.hasPrefix("/"),
            !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." })
        else {
            throw BatonError(.usage, "invalid object key \(key)")
        }
    }
}
