import ArgumentParser
import BatonCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `baton demo`: a two-node cluster on loopback with a `file://` store,
/// showing a crash failover with every acknowledged write kept.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a local two-node cluster, kill the holder, and show the standby taking over.",
        discussion: """
            Starts two `baton node` processes on loopback ports with a file:// store in a temporary \
            folder and a small counter app, sends writes through a front proxy, kills the holder \
            (kill -9, node and app), shows the standby taking over once the lease expires, checks \
            that every acknowledged write survived, then stops everything and removes the folder \
            (unless --keep). Takes about 20 seconds with the default 5 s lease.
            """)

    @Option(help: "Number of writes before and after the failover.")
    var writes = 50

    @Option(help: "Lease time to live for the demo cluster.")
    var ttl = DurationArgument(milliseconds: 5000)

    @Flag(help: "Keep the temporary folder (databases, replica, node logs).")
    var keep = false

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("baton-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cluster = try DemoCluster(folder: folder, ttlMilliseconds: ttl.milliseconds)
        let outcome: Result<Void, Error>
        do {
            try await play(cluster, folder: folder)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await cluster.stopAll()
        if !keep { try? FileManager.default.removeItem(atPath: folder) }
        try outcome.get()
    }

    /// Starts the two nodes, writes, kills the holder and shows the takeover.
    private func play(_ cluster: DemoCluster, folder: String) async throws {
        say("folder     \(folder)\(keep ? "" : " (removed at the end; --keep keeps it)")")
        try cluster.start()
        say("started    node a (API \(cluster.nodes[0].api), proxy \(cluster.nodes[0].proxy))")
        say("           node b (API \(cluster.nodes[1].api), proxy \(cluster.nodes[1].proxy))")
        let holder = try await cluster.waitForHolder(among: [0, 1], seconds: 30)
        let standby = 1 - holder
        say("holder     \(cluster.nodes[holder].name); standby \(cluster.nodes[standby].name)")
        try await cluster.waitForStreaming(standby, seconds: 30)

        var acknowledged: [String] = []
        for index in 0..<writes {
            // Through the standby's proxy: it forwards to the holder.
            let key = "before-\(index)"
            if try await cluster.write(key, via: standby) { acknowledged.append(key) }
        }
        say(
            "wrote      \(acknowledged.count)/\(writes) through \(cluster.nodes[standby].name)'s proxy (forwarded to the holder)"
        )
        // Replication to the standby is asynchronous: a write acknowledged in the last few
        // milliseconds before a crash may not have reached it (zero-loss mode is separate).
        try await Task.sleep(nanoseconds: 200_000_000)  // the holder captures new commits every 20 ms
        try await cluster.waitForCaughtUp(standby, holder: holder, seconds: 10)
        say("streamed   \(cluster.nodes[standby].name) has applied every transaction of \(cluster.nodes[holder].name)")

        say("killing    \(cluster.nodes[holder].name) (kill -9 of the node; its app dies with it)")
        let killedAt = Date()
        await cluster.kill(holder)
        _ = try await cluster.waitForHolder(among: [standby], seconds: Double(ttl.milliseconds) / 1000 + 30)
        let switched = Date().timeIntervalSince(killedAt)
        say(
            String(
                format: "took over  %@ serves after %.1f s (lease TTL %@)", cluster.nodes[standby].name, switched,
                DurationText.format(ttl.milliseconds)))

        for index in 0..<writes {
            let key = "after-\(index)"
            if try await cluster.write(key, via: standby) { acknowledged.append(key) }
        }
        let stored = Set(try await cluster.keys(via: standby))
        let missing = acknowledged.filter { !stored.contains($0) }
        say("checked    \(acknowledged.count) acknowledged writes, \(missing.count) missing")
        guard missing.isEmpty else {
            say("MISSING    \(missing.prefix(10).joined(separator: ", "))")
            throw ExitCode(1)
        }
        say("done       every acknowledged write survived the failover")
    }

    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
