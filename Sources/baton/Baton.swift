import ArgumentParser

/// The `baton` command.
@main
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract:
            "Keeps a SQLite app safe and up: continuous backup, point-in-time restore, hot standby with automatic failover.",
        discussion: """
            Store URLs: file:///absolute/dir (or a plain path) for a local or mounted directory. \
            Replicas use the LTX layout of Litestream 0.5 (ltx/<level>/<min>-<max>.ltx), so a replica \
            written by Litestream can be restored by Baton.
            """,
        version: "0.1.0",
        subcommands: [
            ReplicateCommand.self, RestoreCommand.self, VerifyCommand.self, ListCommand.self, LeaseCommand.self,
            LockCommand.self,
            NodeCommand.self, StatusCommand.self, HandoffCommand.self, DemoCommand.self, DemoAppCommand.self,
        ]
    )
}
