import Foundation

/// The baton: `lease.json` in the replica's prefix. Times are the store's
/// clock, in milliseconds since the Unix epoch. Fields Baton does not know
/// are kept as they were, so newer versions can add some.
public struct LeaseRecord: Equatable, Sendable {
    /// Who holds it (a node name or `lock@host:pid`).
    public var holder: String
    /// Where the holder can be reached (empty for batch jobs).
    public var address: String
    /// Fencing token: one more on every change of holder, never reused.
    public var epoch: UInt64
    /// When it expires, on the store's clock.
    public var expiresAtMilliseconds: Int64
    /// The standby the holder waits for before acknowledging a write in
    /// sync mode (nil: none; acknowledgements then wait for the store).
    /// Only it may take over an expired lease with its own copy alone.
    public var syncStandby: String?
    private var unknown: [String: String] = [:]

    /// A record from its parts.
    public init(
        holder: String, address: String = "", epoch: UInt64, expiresAtMilliseconds: Int64, syncStandby: String? = nil
    ) {
        self.holder = holder
        self.address = address
        self.epoch = epoch
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.syncStandby = syncStandby
    }

    /// Whether it has expired at store time `now`.
    public func isExpired(atStoreTime now: Int64) -> Bool { now >= expiresAtMilliseconds }

    /// The JSON bytes.
    public func encoded() -> [UInt8] {
        var object: [String: Any] = [:]
        for (key, json) in unknown {
            object[key] = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        }
        object["holder"] = holder
        object["address"] = address
        object["epoch"] = epoch
        object["expiresAt"] = LeaseRecord.format(expiresAtMilliseconds)
        object["expiresAtMs"] = expiresAtMilliseconds
        if let syncStandby { object["syncStandby"] = syncStandby }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return [UInt8](data) + [10]
    }

    /// Parses `lease.json`; throws `corrupt` naming what is wrong.
    public init(decoding bytes: [UInt8]) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw BatonError(.corrupt, "lease.json is not a JSON object")
        }
        guard let holder = object["holder"] as? String, let epoch = (object["epoch"] as? NSNumber)?.uint64Value,
            let expires = (object["expiresAtMs"] as? NSNumber)?.int64Value
        else {
            throw BatonError(.corrupt, "lease.json lacks holder, epoch or expiresAtMs")
        }
        self.holder = holder
        self.address = object["address"] as? String ?? ""
        self.epoch = epoch
        self.expiresAtMilliseconds = expires
        self.syncStandby = object["syncStandby"] as? String
        let known = ["holder", "address", "epoch", "expiresAt", "expiresAtMs", "syncStandby"]
        for (key, value) in object where !known.contains(key) {
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                unknown[key] = String(decoding: data, as: UTF8.self)
            }
        }
    }

    /// Milliseconds since the epoch as RFC 3339 UTC.
    public static func format(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
