import BatonCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file opened with POSIX calls: positioned reads and writes, fsync,
/// truncate. Errors name the path and the system's reason.
public final class LocalFile: @unchecked Sendable {
    /// The path it was opened with.
    public let path: String
    /// The file descriptor.
    public let descriptor: Int32

    /// How to open the file.
    public enum Mode {
        /// Read only; the file must exist.
        case read
        /// Read and write; created if missing.
        case readWrite
        /// Write a new file; fails if it exists.
        case createNew
    }

    /// Opens `path`.
    public init(_ path: String, _ mode: Mode) throws {
        self.path = path
        let flags: Int32
        switch mode {
        case .read: flags = O_RDONLY
        case .readWrite: flags = O_RDWR | O_CREAT
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        }
        let fd = open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LocalFile.error("cannot open", path) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The error for the last failed system call.
    public static func error(_ what: String, _ path: String) -> BatonError {
        let code: BatonError.Code = errno == ENOENT ? .notFound : (errno == EEXIST ? .alreadyExists : .io)
        return BatonError(code, "\(what) \(path): \(String(cString: strerror(errno)))")
    }

    /// Current size in bytes.
    public func size() throws -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw LocalFile.error("cannot stat", path) }
        return Int64(info.st_size)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    public func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw LocalFile.error("cannot read", path)
            }
            if got == 0 { break }
            done += got
        }
        if done < count { buffer.removeSubrange(done...) }
        return buffer
    }

    /// The whole file (for small files: records, journals).
    public func readAll() throws -> [UInt8] {
        try read(at: 0, count: Int(try size()))
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { raw in
                pwrite(descriptor, raw.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            if wrote < 0 {
                if errno == EINTR { continue }
                throw LocalFile.error("cannot write", path)
            }
            done += wrote
        }
    }

    /// Flushes data and metadata to stable storage.
    public func sync() throws {
        guard fsync(descriptor) == 0 else { throw LocalFile.error("cannot fsync", path) }
    }

    /// Flushes data (and the size, when it changed) to stable storage, not
    /// the other metadata: an append-only journal's one flush per record.
    public func dataSync() throws {
        guard fdatasync(descriptor) == 0 else { throw LocalFile.error("cannot fdatasync", path) }
    }

    /// Sets the file's length.
    public func truncate(to length: Int64) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw LocalFile.error("cannot truncate", path) }
    }
}
