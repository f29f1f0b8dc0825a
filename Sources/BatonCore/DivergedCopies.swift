/// The copies a node kept aside as `<file>.diverged-<epoch>-<time>[-<n>]`
/// (a database whose history left the holder's), and which of them a
/// `keep` limit lets go: the oldest first, never the newest `keep`.
public enum DivergedCopies {
    /// One kept copy, from its file name.
    public struct Copy: Equatable, Sendable {
        /// The file name (no folder).
        public var name: String
        /// The epoch that wrote its last transaction.
        public var epoch: UInt64
        /// When it was set aside (seconds since the Unix epoch).
        public var seconds: Int64
        /// Set aside again within the same second: 2, 3, …; 1 for the first.
        public var sequence: Int
    }

    /// The name for a copy of `base` (a path or a file name) set aside at
    /// `seconds`: the first that `taken` says is free.
    public static func name(base: String, epoch: UInt64, seconds: Int64, taken: (String) -> Bool) -> String {
        let first = "\(base).diverged-\(epoch)-\(seconds)"
        var candidate = first
        var sequence = 1
        while taken(candidate) {
            sequence += 1
            candidate = "\(first)-\(sequence)"
        }
        return candidate
    }

    /// The kept copies of `base` among `names` (a folder's listing), oldest
    /// first; their `-wal` and `-shm` files are not copies of their own.
    public static func copies(of base: String, among names: [String]) -> [Copy] {
        let prefix = base + ".diverged-"
        let found: [Copy] = names.compactMap { name in
            guard name.hasPrefix(prefix) else { return nil }
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3, let epoch = UInt64(parts[0]), let seconds = Int64(parts[1])
            else { return nil }
            var sequence = 1
            if parts.count == 3 {
                guard let number = Int(parts[2]), number >= 2 else { return nil }
                sequence = number
            }
            return Copy(name: name, epoch: epoch, seconds: seconds, sequence: sequence)
        }
        return found.sorted { ($0.seconds, $0.sequence, $0.epoch) < ($1.seconds, $1.sequence, $1.epoch) }
    }

    /// The copies to remove so that at most `keep` remain (the oldest go).
    public static func beyond(keep: Int, of copies: [Copy]) -> [Copy] {
        Array(copies.dropLast(max(0, keep)))
    }
}
