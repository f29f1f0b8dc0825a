import ArgumentParser
import BatonCore
import BatonReplication
import BatonStore

/// `baton lease URL`: who holds the baton.
struct LeaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease",
        abstract: "Show who holds the lease (the baton) of a replica, its epoch and time left.",
        discussion: "Times are judged on the store's clock. --release-if-expired never touches a live lease.")

    @Argument(help: "The replica: file:///dir, a path, or s3://bucket/prefix.")
    var url: String

    @Flag(help: "Mark an expired lease as released (keeps its epoch); refuses if it is still live.")
    var releaseIfExpired = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let store = try StoreURL(url).open()
        guard let current = try await LeaseClient.read(store) else {
            if json { try Output.json(["holder": ""]) } else { print("\(store.displayURL): nobody holds the lease") }
            return
        }
        let record = current.record
        let left = record.expiresAtMilliseconds - current.storeTimeMilliseconds
        if releaseIfExpired {
            guard left <= 0 else {
                throw ValidationErrorText(
                    "\(store.displayURL): the lease is live (held by \(record.holder) for \(left / 1000) s more); not released"
                )
            }
            let released = LeaseRecord(holder: "", address: "", epoch: record.epoch, expiresAtMilliseconds: 0)
            try await store.put(LeaseClient.key, data: released.encoded(), condition: .ifMatch(current.etag))
        }
        if json {
            try Output.json(
                LeaseSummary(
                    holder: record.holder, address: record.address, epoch: record.epoch,
                    expiresAt: LeaseRecord.format(record.expiresAtMilliseconds), millisecondsLeft: max(0, left),
                    released: releaseIfExpired))
        } else if left > 0 {
            print(
                "held by \(record.holder)\(record.address.isEmpty ? "" : " (\(record.address))"), epoch \(record.epoch), \(Double(left) / 1000) s left"
            )
        } else {
            print(
                "free: released or expired (last holder \(record.holder.isEmpty ? "-" : record.holder), epoch \(record.epoch))"
                    + (releaseIfExpired ? "; marked released" : ""))
        }
    }
}

/// `baton lease --json`.
struct LeaseSummary: Encodable {
    var holder: String
    var address: String
    var epoch: UInt64
    var expiresAt: String
    var millisecondsLeft: Int64
    var released: Bool
}
