/// The SQLite files one app uses, protected together: each has a name (its
/// prefix in the store, `<store>/<name>/ltx/...`) and a path. A group made
/// from a single `database:` keeps that database at the store's root, the
/// layout Baton used before groups (and Litestream's for one database).
public struct DatabaseGroup: Sendable, Equatable {
    /// One database of the group.
    public struct Member: Sendable, Equatable, Hashable {
        /// Its name: the prefix of its replica under the group's store.
        public var name: String
        /// The database file.
        public var path: String

        /// A member called `name` (default: the file's stem) at `path`.
        public init(name: String? = nil, path: String) {
            self.name = name ?? DatabaseGroup.defaultName(for: path)
            self.path = path
        }
    }

    /// A folder whose matching files are the group; files that appear later join it.
    public struct Directory: Sendable, Equatable {
        /// The folder.
        public var path: String
        /// Which file names belong (`*` any run of characters, `?` one character).
        public var pattern: String

        /// Files in `path` matching `pattern`.
        public init(path: String, pattern: String) {
            self.path = path
            self.pattern = pattern
        }
    }

    /// The databases listed (in directory mode: those found so far).
    public private(set) var members: [Member]
    /// Set in directory mode.
    public let directory: Directory?
    /// Whether each database lives under its name's prefix (false only for a single `database:`).
    public let prefixed: Bool

    /// One database at the store's root (`database: PATH`, `baton replicate DB URL`).
    public static func single(path: String) -> DatabaseGroup {
        DatabaseGroup(members: [Member(path: path)], directory: nil, prefixed: false)
    }

    /// A listed group; throws `usage` naming the first bad or repeated name or path.
    public init(members: [Member]) throws {
        guard !members.isEmpty else { throw BatonError(.usage, "databases: list at least one database") }
        self.init(members: [], directory: nil, prefixed: true)
        for member in members { try add(member) }
    }

    /// A directory group; its members come from `adding(found:)`.
    public init(directory: Directory) throws {
        guard !directory.path.isEmpty else { throw BatonError(.usage, "databases.dir must not be empty") }
        guard !directory.pattern.isEmpty, !directory.pattern.contains("/") else {
            throw BatonError(.usage, "databases.pattern must be a file name pattern like *.sqlite3, without '/'")
        }
        self.init(members: [], directory: directory, prefixed: true)
    }

    private init(members: [Member], directory: Directory?, prefixed: Bool) {
        self.members = members
        self.directory = directory
        self.prefixed = prefixed
    }

    /// The names, in order.
    public var names: [String] { members.map(\.name) }

    /// The member called `name`.
    public func member(named name: String) -> Member? { members.first { $0.name == name } }

    /// Adds `member`; throws `usage` when its name is not usable or a name or path repeats.
    public mutating func add(_ member: Member) throws {
        try DatabaseGroup.check(name: member.name, path: member.path)
        if members.contains(where: { $0.name == member.name }) {
            throw BatonError(
                .usage, "databases: two databases are named '\(member.name)'; give one of them its own name: key")
        }
        if members.contains(where: { $0.path == member.path }) {
            throw BatonError(.usage, "databases: \(member.path) is listed twice")
        }
        members.append(member)
    }

    /// Drops the member at `path` (directory mode: a file that could not be
    /// replicated yet is tried again at the next scan).
    public mutating func remove(path: String) { members.removeAll { $0.path == path } }

    /// Directory mode: the file names in `names` that belong to the group
    /// and are not members yet, as members (SQLite's own side files and
    /// Baton's kept-aside copies never belong).
    public func newMembers(amongFileNames names: [String]) -> [Member] {
        guard let directory else { return [] }
        let known = Set(members.map(\.path))
        return names.sorted().compactMap { file in
            guard DatabaseGroup.isCandidate(file), GlobPattern(directory.pattern).matches(file) else { return nil }
            let path = directory.path.hasSuffix("/") ? directory.path + file : directory.path + "/" + file
            guard !known.contains(path) else { return nil }
            let member = Member(path: path)
            guard (try? DatabaseGroup.check(name: member.name, path: path)) != nil,
                !members.contains(where: { $0.name == member.name })
            else { return nil }
            return member
        }
    }

    /// The environment variable that gives an app the path of the database
    /// called `name`: `BATON_DB_` and the name in upper case, every
    /// character other than a letter or digit as `_`.
    public static func environmentVariable(for name: String) -> String {
        "BATON_DB_" + String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The default name of the database at `path`: its file name without the extension.
    public static func defaultName(for path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }

    private static func check(name: String, path: String) throws {
        if path.isEmpty { throw BatonError(.usage, "databases: a database has an empty path") }
        if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains(" ") {
            throw BatonError(.usage, "databases: '\(name)' (\(path)) is not a usable name: no '/', spaces, '.' or '..'")
        }
        if name == "ltx" || name == "lease.json" || name == "fleet" {
            throw BatonError(.usage, "databases: '\(name)' (\(path)) is a name Baton uses in the store; pick another")
        }
    }

    private static func isCandidate(_ file: String) -> Bool {
        for suffix in ["-wal", "-shm", "-journal"] where file.hasSuffix(suffix) { return false }
        return !file.contains(".diverged-") && !file.hasPrefix(".")
    }
}
