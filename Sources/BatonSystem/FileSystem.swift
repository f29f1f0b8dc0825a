import BatonCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Directory and path operations Baton needs, with durable renames.
public enum FileSystem {
    /// Whether something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size and modification time of a file, or nil if missing.
    public static func attributes(_ path: String) -> (size: Int64, modifiedNanoseconds: Int64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return (Int64(info.st_size), nanoseconds, UInt64(info.st_ino))
    }

    /// The permission bits of `path` (`st_mode & 0o7777`), nil when it cannot be read.
    public static func permissions(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

    /// Creates `path` and its parents.
    public static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw LocalFile.error("cannot create directory", current)
            }
        }
        guard isDirectory(path) else { throw BatonError(.io, "cannot create directory \(path): not a directory") }
    }

    /// Entry names in a directory (not recursive), without "." and "..".
    public static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw LocalFile.error("cannot list", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// fsyncs a directory so a rename or create inside it survives a crash.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LocalFile.error("cannot open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LocalFile.error("cannot fsync directory", path) }
    }

    /// Atomically replaces `destination` with `source` and makes it durable.
    public static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else { throw LocalFile.error("cannot rename to", destination) }
        try syncDirectory(parent(of: destination))
    }

    /// Links `source` to `destination` only if `destination` does not exist (atomic create).
    public static func linkIfAbsent(_ source: String, to destination: String) throws -> Bool {
        if link(source, destination) == 0 {
            try syncDirectory(parent(of: destination))
            return true
        }
        if errno == EEXIST { return false }
        throw LocalFile.error("cannot create", destination)
    }

    /// Removes a file; missing files are fine.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw LocalFile.error("cannot remove", path) }
    }

    /// Removes a folder with everything in it, subfolders included (a
    /// symbolic link is removed, never followed); a missing folder is fine.
    public static func removeFolder(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw LocalFile.error("cannot look at", path)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return try remove(path) }
        for name in try list(path) { try removeFolder(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT { throw LocalFile.error("cannot remove", path) }
    }

    /// The directory part of a path.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync the directory.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try replace(path, with: bytes, sync: true)
    }

    /// Replaces `path` whole by a rename, with no fsync of the file or its
    /// folder: for caches and hints, where a crash may lose the new content
    /// but never leaves half of it.
    public static func replaceUnsynced(_ path: String, with bytes: [UInt8]) throws {
        try replace(path, with: bytes, sync: false)
    }

    private static func replace(_ path: String, with bytes: [UInt8], sync: Bool) throws {
        let temporary = temporaryPath(next: path)
        do {
            let file = try LocalFile(temporary, .createNew)
            try file.write(bytes, at: 0)
            if sync {
                try file.sync()
                try rename(temporary, to: path)
            } else if Glibc.rename(temporary, path) != 0 {
                throw LocalFile.error("cannot rename to", path)
            }
        } catch {
            try? remove(temporary)
            throw error
        }
    }

    /// A unique temporary name in the same directory as `path`.
    public static func temporaryPath(next path: String) -> String {
        "\(parent(of: path))/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }
}
