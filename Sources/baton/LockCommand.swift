import ArgumentParser
import BatonCore
import BatonReplication
import BatonStore
import BatonSystem
import Foundation

/// `baton lock URL --db PATH -- CMD…`: a batch job under the baton.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Run a batch job under the lease: take it, pull the latest state, run, push, release.",
        discussion: """
            1. Takes the lease (waiting up to --wait with backoff). 2. Restores the replica's latest state to --db, \
            or keeps the local file when it already is that state. 3. Runs the command with BATON_DB and \
            BATON_EPOCH set, renewing the lease; if the lease is lost the command is killed and nothing is pushed. \
            4. On exit status 0 (or with --push-on-failure) pushes the changes as one file stamped with the \
            lease's epoch, then releases the lease. The exit status is the command's.

            Example:
              baton lock s3://bucket/org-data/99 --db work/99.db --wait 5m -- ./scheduler --db work/99.db
            """)

    @Argument(help: "The replica: file:///dir, a path, or s3://bucket/prefix.")
    var url: String

    @Option(help: "The local database the job works on.")
    var db: String

    @Option(help: "How long to wait for the lease (e.g. 30s, 5m).")
    var wait = DurationArgument(milliseconds: 0)

    @Option(help: "Lease time to live; renewed every third of it.")
    var ttl = DurationArgument(milliseconds: 10_000)

    @Flag(help: "Push the changes even when the command fails.")
    var pushOnFailure = false

    @OptionGroup(title: "Encryption")
    var encryption: EncryptionOptions

    @Argument(parsing: .postTerminator, help: "The command to run (after --).")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command to run after --") }
        if ttl.milliseconds < 3000 { throw ValidationError("--ttl must be at least 3s") }
    }

    func run() async throws {
        let store = try StoreURL(url).open(encryption: try encryption.load(forWriting: true))
        let host = ProcessInfo.processInfo.hostName
        let client = LeaseClient(
            store: store, holder: "lock@\(host):\(getpid())", timing: .init(ttlMilliseconds: ttl.milliseconds))
        let files = try await ReplicaCatalog.files(in: store, headers: false)
        var minimumEpoch: UInt64 = 0
        if let latest = files.max(by: { $0.maxTXID < $1.maxTXID }) {
            minimumEpoch = try await ReplicaCatalog.header(of: latest, in: store).nodeID
        }
        let epoch = try await client.acquire(waitMilliseconds: wait.milliseconds, minimumEpoch: minimumEpoch)
        Output.log("took the lease of \(store.displayURL) (epoch \(epoch))")
        let job = LockJob(store: store, databasePath: db) { Output.log($0) }
        do {
            let base = try await job.prepare()
            let status = try await runCommand(client: client, epoch: epoch)
            if status == 0 || pushOnFailure {
                if let txid = try await job.push(from: base, epoch: epoch, stillHolder: { await client.maintain() }) {
                    Output.log("replica at transaction \(txid)")
                }
            } else {
                Output.log("the command failed (status \(status)); nothing pushed")
            }
            await client.release()
            if status != 0 { throw ExitCode(status) }
        } catch {
            await client.release()
            throw error
        }
    }

    /// Runs the command, renewing the lease; kills it if the lease is lost.
    private func runCommand(client: LeaseClient, epoch: UInt64) async throws -> Int32 {
        let process: ChildProcess
        do {
            // Killed with this process: a job must not write once nobody renews its lease.
            process = try ChildProcess(arguments: command, environment: ["BATON_DB": db, "BATON_EPOCH": "\(epoch)"])
        } catch {
            throw ValidationErrorText("cannot start \(command[0]): \(error)")
        }
        // Forward SIGINT/SIGTERM to the command while it runs (never to a reused pid).
        let signals = StopSignal { signal in process.signal(signal) }
        _ = signals
        // The job is killed the moment the lease can no longer be proven held.
        let keeper = LeaseKeeper(client: client, retryMilliseconds: 200) { process.signal(SIGKILL) }
        keeper.start()
        let status = await process.exited() ?? -1
        await keeper.finish()
        if keeper.lost {
            throw BatonError(
                .preconditionFailed, "lost the lease (epoch \(epoch)); the job was killed and nothing was pushed")
        }
        return status
    }
}
