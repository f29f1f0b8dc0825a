import BatonCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Calls `onChange` with a path's index, on a thread of its own, soon
/// after one of `paths` is written, truncated, created, renamed into place
/// or deleted: Linux inotify on the paths' folders (so a file that does not exist yet, like a `-wal` before the
/// first write, is seen when it appears), read by that thread, which
/// blocks on the events. Changes in a row may be reported once; a change
/// made through a memory map (SQLite's `-shm`) is not reported at all.
///
/// It is a wake-up, not a record: a caller looks at the files itself after
/// each call, and keeps a slow poll as its safety net (a folder on a
/// network file system reports nothing, and inotify can run out of watches).
public final class FileChangeWatcher: Sendable {
    private struct State {
        var stopped = false
        var ended = false
    }

    private let inotify: Int32
    /// Writing to its other end wakes the thread to stop.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let names: [Int32: [String: Int]]
    private let onChange: @Sendable (Int) -> Void
    private let state = Mutex(State())

    /// Watches `paths` (absolute or relative to the working directory; their folders must exist).
    /// Throws `io` where inotify is missing or a folder cannot be watched.
    public init(paths: [String], onChange: @escaping @Sendable (Int) -> Void) throws {
        #if os(Linux)
            inotify = inotify_init1(Int32(IN_CLOEXEC))
            guard inotify >= 0 else {
                throw LocalFile.error("cannot start watching files (inotify)", paths.first ?? "")
            }
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else {
                close(inotify)
                throw LocalFile.error("cannot start watching files (pipe)", paths.first ?? "")
            }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            (wakeRead, wakeWrite) = (ends[0], ends[1])
            var names: [Int32: [String: Int]] = [:]
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE)
            for (index, path) in paths.enumerated() {
                let folder = FileSystem.parent(of: path)
                let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
                let watch = inotify_add_watch(inotify, folder, mask)
                guard watch >= 0 else {
                    let error = LocalFile.error("cannot watch the folder", folder)
                    for descriptor in [inotify, wakeRead, wakeWrite] { close(descriptor) }
                    throw error
                }
                names[watch, default: [:]][name] = index
            }
            self.names = names
            self.onChange = onChange
            let thread = Thread { [self] in self.readEvents() }
            thread.name = "baton-watch"
            thread.start()
        #else
            throw BatonError(.io, "watching files needs Linux (inotify)")
        #endif
    }

    /// Stops watching (its thread ends and closes its descriptors; `onChange`
    /// may run once more meanwhile). Idempotent. A watcher runs until stopped.
    public func stop() {
        state.withLock { state in
            // Under the lock, so the descriptor written to is still the pipe's (the thread closes it once ended).
            guard !state.stopped, !state.ended else { return }
            state.stopped = true
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    #if os(Linux)
        private func readEvents() {
            defer {
                state.withLock { $0.ended = true }
                for descriptor in [inotify, wakeRead, wakeWrite] { close(descriptor) }
            }
            let capacity = 64 * 1024
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
            defer { buffer.deallocate() }
            var descriptors = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            while !state.withLock({ $0.stopped }) {
                descriptors[0].revents = 0
                descriptors[1].revents = 0
                let ready = poll(&descriptors, 2, -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    return
                }
                if descriptors[1].revents != 0 { return }
                guard descriptors[0].revents != 0 else { continue }
                let count = read(inotify, buffer, capacity)
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return
                }
                for index in changed(buffer, count) { onChange(index) }
            }
        }

        /// The indices of the watched paths the events in `buffer` name, each
        /// once; every path when the kernel reports that it dropped events.
        private func changed(_ buffer: UnsafeMutableRawPointer, _ count: Int) -> [Int] {
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            var hits = Set<Int>()
            while offset + header <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    for watched in names.values { hits.formUnion(watched.values) }
                }
                if event.len > 0, let watched = names[event.wd] {
                    let name = String(cString: (buffer + offset + header).assumingMemoryBound(to: CChar.self))
                    if let index = watched[name] { hits.insert(index) }
                }
                offset += header + Int(event.len)
            }
            return hits.sorted()
        }
    #endif
}
