import BatonCore
import BatonStore
import BatonSystem
import Foundation
import Synchronization

/// Continuous backup of a group of databases (no HA): one `Replicator` per
/// database, each in its own task, each into its own replica under the
/// group's store. Every listed database is opened and checked before
/// anything is uploaded, so a missing file, a database not in WAL mode or a
/// page size that differs from its replica stops the run with an error
/// naming the file and nothing in the store touched. In directory mode the
/// folder is scanned again every `scanIntervalMilliseconds`; files that
/// appear join the group (a file that cannot be replicated yet is reported
/// once and tried again at each scan; one bad file does not stop the others).
public final class GroupReplicator: Sendable {
    /// What one database's run ended with.
    public struct Outcome: Sendable {
        /// The database.
        public var member: DatabaseGroup.Member
        /// Its counters, when it ran.
        public var stats: ReplicatorStats?
        /// Why it stopped early, if it did.
        public var error: String?
    }

    private let storeURL: StoreURL
    /// `--also`: each database's files copied on to its replica there.
    private let secondStoreURL: StoreURL?
    private let encryption: StoreEncryption?
    private let options: ReplicatorOptions
    private let log: @Sendable (String) -> Void
    private let scanIntervalMilliseconds: Int64
    private let state: Mutex<State>

    private struct State {
        var group: DatabaseGroup
        var reported: Set<String> = []
    }

    /// A backup of `group` into `storeURL`; `options.stateDirectory`, when
    /// set, gets a folder per database.
    public init(
        group: DatabaseGroup, storeURL: StoreURL, secondStoreURL: StoreURL? = nil, encryption: StoreEncryption? = nil,
        options: ReplicatorOptions, scanIntervalMilliseconds: Int64 = 1000, log: @escaping @Sendable (String) -> Void
    ) {
        self.storeURL = storeURL
        self.secondStoreURL = secondStoreURL
        self.encryption = encryption
        self.options = options
        self.log = log
        self.scanIntervalMilliseconds = scanIntervalMilliseconds
        state = Mutex(State(group: group))
    }

    /// The databases of the group so far.
    public var group: DatabaseGroup { state.withLock { $0.group } }

    /// Replicates every database until `shouldStop` says so (with `once`:
    /// one sync each), then seals and uploads everything; returns each
    /// database's outcome. Throws before any upload when a listed database
    /// cannot be replicated.
    public func run(once: Bool, shouldStop: @escaping @Sendable () -> Bool) async throws -> [Outcome] {
        if group.directory != nil { try scan() }
        let initial = group.members
        if initial.isEmpty, let directory = group.directory {
            log("no file in \(directory.path) matches \(directory.pattern) yet; waiting for one")
        }
        // Opened (and checked) first, all of them, before the first upload.
        var opened: [(DatabaseGroup.Member, Replicator)] = []
        do {
            for member in initial { opened.append((member, try open(member))) }
        } catch {
            for (_, replicator) in opened { replicator.close() }
            throw error
        }
        let outcomes = await withTaskGroup(of: Outcome.self) { tasks -> [Outcome] in
            for (member, replicator) in opened {
                let box = UncheckedBox(replicator)
                tasks.addTask { await self.replicate(member, box, once, shouldStop) }
            }
            // Directory mode: new files join while the group runs.
            while !once, group.directory != nil, !shouldStop() {
                try? await Task.sleep(nanoseconds: UInt64(scanIntervalMilliseconds) * 1_000_000)
                let before = Set(group.members.map(\.path))
                try? scan()
                for member in group.members where !before.contains(member.path) {
                    do {
                        let box = UncheckedBox(try open(member))
                        log("\(member.path) joined the group as \(member.name)")
                        tasks.addTask { await self.replicate(member, box, false, shouldStop) }
                    } catch {
                        // Perhaps still being created by the app: tried again at the next scan.
                        state.withLock { $0.group.remove(path: member.path) }
                        report(member, "\(error)")
                    }
                }
            }
            var outcomes: [Outcome] = []
            for await outcome in tasks { outcomes.append(outcome) }
            return outcomes
        }
        let order = Dictionary(uniqueKeysWithValues: group.members.enumerated().map { ($1.path, $0) })
        return outcomes.sorted { (order[$0.member.path] ?? 0) < (order[$1.member.path] ?? 0) }
    }

    /// Opens the replicator of `member` (checks the database, nothing uploaded yet).
    private func open(_ member: DatabaseGroup.Member) throws -> Replicator {
        let group = self.group
        let store = try storeURL.replica(of: member, in: group).open(encryption: encryption)
        var options = self.options
        if group.prefixed, let base = options.stateDirectory { options.stateDirectory = base + "/" + member.name }
        let log = self.log
        let prefix = group.members.count > 1 || group.directory != nil ? "\(member.name): " : ""
        do {
            return try Replicator(databasePath: member.path, store: store, options: options) { log(prefix + $0) }
        } catch let error as BatonError where !error.message.contains(member.path) {
            throw BatonError(error.code, "\(member.path): \(error.message)")
        }
    }

    private func replicate(
        _ member: DatabaseGroup.Member, _ box: UncheckedBox<Replicator>, _ once: Bool,
        _ shouldStop: @escaping @Sendable () -> Bool
    ) async -> Outcome {
        let replicator = box.value
        defer { replicator.close() }
        do {
            let mirror = try mirror(of: member)
            try await replicator.start()
            if once || shouldStop() {
                try await replicator.finish()
            } else if let mirror {
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        await mirror.keepCopying(
                            mayWrite: { true }, sleep: { try await Task.sleep(for: .milliseconds($0)) },
                            now: { Int64(Date().timeIntervalSince1970 * 1000) })
                    }
                    try await box.value.run(shouldStop: shouldStop)
                    tasks.cancelAll()
                }
            } else {
                try await replicator.run(shouldStop: shouldStop)
            }
            if let mirror {
                // What was uploaded last reaches the second store too.
                let copied = try await mirror.pass(allFolders: true)
                log(
                    "\(member.name): the second store \(mirror.targetURL) is at transaction \(mirror.published?.txid ?? 0) (\(copied) objects copied last)"
                )
            }
            return Outcome(member: member, stats: replicator.stats, error: nil)
        } catch {
            log("\(member.path): \(error)")
            return Outcome(member: member, stats: replicator.stats, error: "\(error)")
        }
    }

    /// The copier of `member`'s replica to the second store, if there is one.
    private func mirror(of member: DatabaseGroup.Member) throws -> StoreMirror? {
        guard let secondStoreURL else { return nil }
        let group = self.group
        let prefix = "\(member.name): "
        let log = self.log
        var state = options.stateDirectory ?? member.path + "-baton"
        if group.prefixed, options.stateDirectory != nil { state += "/" + member.name }
        return StoreMirror(
            source: try storeURL.replica(of: member, in: group).open(encryption: encryption),
            target: try secondStoreURL.replica(of: member, in: group).open(encryption: encryption),
            scratchDirectory: state + "/mirror", retention: options.retentionPolicy, log: { log(prefix + $0) })
    }

    /// Reads the directory and adds the files that belong.
    private func scan() throws {
        guard let directory = group.directory else { return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw BatonError(.notFound, "cannot read the directory \(directory.path): \(error.localizedDescription)")
        }
        let regular = names.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory.path + "/" + name, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        state.withLock { state in
            for member in state.group.newMembers(amongFileNames: regular) { try? state.group.add(member) }
        }
    }

    private func report(_ member: DatabaseGroup.Member, _ message: String) {
        let first = state.withLock { $0.reported.insert(member.path + message).inserted }
        if first { log("\(member.path) is not replicated: \(message)") }
    }
}
