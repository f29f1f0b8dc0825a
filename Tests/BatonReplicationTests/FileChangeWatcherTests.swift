import BatonCore
import BatonSystem
import Foundation
import Synchronization
import Testing

/// The WAL watcher a holder steps on: it reports changes to the files it
/// watches, by index, including files created after it started, and
/// nothing about the other files of the folder.
@Suite struct FileChangeWatcherTests {
    /// The indices reported so far.
    final class Reports: Sendable {
        private let seen = Mutex<[Int]>([])
        func add(_ index: Int) { seen.withLock { $0.append(index) } }
        var all: [Int] { seen.withLock { $0 } }

        /// Waits (bounded, real time) until `index` was reported.
        func waitFor(_ index: Int) async throws -> Bool {
            for _ in 0..<500 {
                if all.contains(index) { return true }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            return false
        }
    }

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "baton-watch-\(UUID().uuidString)"
        try FileSystem.makeDirectories(path)
        return path
    }

    func append(_ path: String, _ text: String) throws {
        let handle = try LocalFile(path, .readWrite)
        try handle.write(Array(text.utf8), at: handle.size())
    }

    @Test func reportsWritesToWatchedFilesOnlyIncludingFilesCreatedLater() async throws {
        let first = try folder()
        let second = try folder()
        defer {
            try? FileManager.default.removeItem(atPath: first)
            try? FileManager.default.removeItem(atPath: second)
        }
        let reports = Reports()
        let watcher = try FileChangeWatcher(paths: ["\(first)/a.db-wal", "\(second)/b.db-wal"]) { reports.add($0) }
        defer { watcher.stop() }

        // Another file of the same folder: not reported.
        try append("\(first)/a.db", "page")
        try append("\(first)/other.log", "line")
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(reports.all.isEmpty)

        // The watched file appears (it did not exist when watching began), then grows.
        try append("\(first)/a.db-wal", "frame 1")
        #expect(try await reports.waitFor(0))
        #expect(!reports.all.contains(1))
        let before = reports.all.count
        try append("\(first)/a.db-wal", "frame 2")
        for _ in 0..<500 where reports.all.count == before { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(reports.all.count > before)

        // A file in the other folder, by its own index.
        try append("\(second)/b.db-wal", "frame 1")
        #expect(try await reports.waitFor(1))
    }

    @Test func reportsNothingOnceStopped() async throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reports = Reports()
        let watcher = try FileChangeWatcher(paths: ["\(directory)/a.db-wal"]) { reports.add($0) }
        try append("\(directory)/a.db-wal", "frame 1")
        #expect(try await reports.waitFor(0))
        watcher.stop()
        watcher.stop()  // idempotent
        try await Task.sleep(nanoseconds: 100_000_000)
        let stopped = reports.all.count
        try append("\(directory)/a.db-wal", "frame 2")
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(reports.all.count == stopped)
    }

    @Test func refusesAFolderThatDoesNotExist() throws {
        #expect(throws: BatonError.self) {
            _ = try FileChangeWatcher(paths: ["/nonexistent-baton-folder/a.db-wal"]) { _ in }
        }
    }
}
