import BatonCore
import Foundation

/// Turns the parsed YAML mapping into a `NodeConfig`, refusing unknown keys
/// (a typo must not silently fall back to a default) and wrong types, with
/// the key path in every message.
struct ConfigReader {
    let source: String

    mutating func read(_ root: [String: Any]) throws -> NodeConfig {
        var config = NodeConfig()
        try known(
            root, "",
            [
                "name", "database", "databases", "store", "stores", "token", "api", "proxy", "app", "peers", "lease",
                "handoff", "replication", "relay", "diverged", "encryption", "retention", "tls", "verify", "insecure",
            ])
        config.name = try string(root, "name") ?? ""
        config.database = try string(root, "database") ?? ""
        config.databases = try databases(root)
        config.store = try string(root, "store") ?? ""
        if let stores = root["stores"], !(stores is NSNull) {
            let urls = (stores as? [Any])?.compactMap { $0 as? String } ?? []
            guard urls.count == (stores as? [Any])?.count, (1...2).contains(urls.count) else {
                throw BatonError(
                    .usage, "\(source): stores must list one or two store URLs: [primary, second (a DR copy)]")
            }
            guard config.store.isEmpty else {
                throw BatonError(.usage, "\(source): give store or stores, not both")
            }
            config.store = urls[0]
            config.secondStore = urls.count == 2 ? urls[1] : nil
        }
        config.token = try string(root, "token").flatMap { $0.isEmpty ? nil : $0 }
        if let api = try map(root, "api") {
            try known(api, "api.", ["listen", "advertise"])
            config.apiListen = try string(api, "listen", path: "api.") ?? config.apiListen
            config.apiAdvertise = try string(api, "advertise", path: "api.")
        }
        if let proxy = try map(root, "proxy") {
            try known(proxy, "proxy.", ["listen", "advertise", "upstream"])
            config.proxyListen = try string(proxy, "listen", path: "proxy.")
            config.proxyAdvertise = try string(proxy, "advertise", path: "proxy.")
            config.appUpstream = try string(proxy, "upstream", path: "proxy.")
        }
        if let app = try map(root, "app") {
            try known(app, "app.", ["command", "env", "ready", "startTimeout", "stopTimeout"])
            config.appCommand = try string(app, "command", path: "app.")
            config.appReadyURL = try string(app, "ready", path: "app.")
            if let env = try map(app, "env", path: "app.") {
                for (key, value) in env {
                    guard let text = scalarText(value) else {
                        throw BatonError(.usage, "\(source): app.env.\(key) must be a string")
                    }
                    config.appEnvironment[key] = text
                }
            }
            config.appStartTimeoutMilliseconds =
                try duration(app, "startTimeout", path: "app.") ?? config.appStartTimeoutMilliseconds
            config.appStopTimeoutMilliseconds =
                try duration(app, "stopTimeout", path: "app.") ?? config.appStopTimeoutMilliseconds
        }
        if let peers = root["peers"], !(peers is NSNull) {
            guard let list = peers as? [Any] else { throw BatonError(.usage, "\(source): peers must be a list") }
            for (index, item) in list.enumerated() {
                let path = "peers[\(index)]."
                guard let peer = item as? [String: Any] else {
                    throw BatonError(.usage, "\(source): peers[\(index)] must be a mapping with name and api")
                }
                try known(peer, path, ["name", "api", "proxy"])
                guard let name = try string(peer, "name", path: path), let api = try string(peer, "api", path: path)
                else { throw BatonError(.usage, "\(source): \(path)name and \(path)api are required") }
                config.peers.append(.init(name: name, api: api, proxy: try string(peer, "proxy", path: path)))
            }
        }
        if let lease = try map(root, "lease") {
            try known(lease, "lease.", ["ttl", "heartbeatTimeout"])
            config.leaseTTLMilliseconds = try duration(lease, "ttl", path: "lease.") ?? config.leaseTTLMilliseconds
            config.heartbeatTimeoutMilliseconds =
                try duration(lease, "heartbeatTimeout", path: "lease.") ?? config.heartbeatTimeoutMilliseconds
        }
        if let handoff = try map(root, "handoff") {
            try known(handoff, "handoff.", ["holdTimeout", "timeout"])
            config.holdTimeoutMilliseconds =
                try duration(handoff, "holdTimeout", path: "handoff.") ?? config.holdTimeoutMilliseconds
            config.handoffTimeoutMilliseconds =
                try duration(handoff, "timeout", path: "handoff.") ?? config.handoffTimeoutMilliseconds
        }
        if let mode = root["replication"] as? String {
            config.replicationMode = try choice(mode, "replication")
        } else if let replication = try map(root, "replication") {
            let path = "replication."
            try known(replication, path, ["batchWindow", "mode", "onStandbyLoss", "standbyTimeout", "readMethods"])
            config.storeBatchWindowMilliseconds =
                try duration(replication, "batchWindow", path: path) ?? config.storeBatchWindowMilliseconds
            if let mode = try string(replication, "mode", path: path) {
                config.replicationMode = try choice(mode, path + "mode")
            }
            if let policy = try string(replication, "onStandbyLoss", path: path) {
                config.onStandbyLoss = try choice(policy, path + "onStandbyLoss")
            }
            config.standbyTimeoutMilliseconds =
                try duration(replication, "standbyTimeout", path: path) ?? config.standbyTimeoutMilliseconds
            if let methods = replication["readMethods"], !(methods is NSNull) {
                guard let list = methods as? [Any], list.allSatisfy({ $0 is String }) else {
                    throw BatonError(.usage, "\(source): replication.readMethods must be a list like [GET, HEAD]")
                }
                config.readMethods = Set(list.compactMap { ($0 as? String)?.uppercased() })
            }
        }
        if let diverged = try map(root, "diverged") {
            try known(diverged, "diverged.", ["keep"])
            if let text = try string(diverged, "keep", path: "diverged."), text != "all" {
                guard let count = Int(text), count >= 1 else {
                    throw BatonError(
                        .usage,
                        "\(source): diverged.keep must be 'all' or a number of copies of at least 1, got '\(text)'")
                }
                config.divergedCopiesKept = count
            }
        }
        if let encryption = try map(root, "encryption") {
            try known(encryption, "encryption.", ["recipients", "identity"])
            config.encryptionIdentity = try string(encryption, "identity", path: "encryption.")
            if let recipients = encryption["recipients"], !(recipients is NSNull) {
                guard let list = recipients as? [Any], list.allSatisfy({ $0 is String }) else {
                    throw BatonError(.usage, "\(source): encryption.recipients must be a list of age1… recipients")
                }
                config.encryptionRecipients = list.compactMap { $0 as? String }
            }
            if config.encryptionIdentity == nil {
                throw BatonError(
                    .usage,
                    "\(source): encryption.identity (an age identity file) is required: a node reads its replica back")
            }
        }
        try readRetention(root, into: &config)
        config.tls = try tls(root)
        if let insecure = try string(root, "insecure") {
            guard let flag = Bool(insecure) else {
                throw BatonError(.usage, "\(source): insecure must be true or false, got '\(insecure)'")
            }
            config.insecure = flag
        }
        if let verify = try map(root, "verify") {
            try known(verify, "verify.", ["every", "points"])
            config.verifyEveryMilliseconds = try duration(verify, "every", path: "verify.")
            if config.verifyEveryMilliseconds == nil {
                throw BatonError(
                    .usage, "\(source): verify.every (how often a standby runs a restore drill, e.g. 24h) is required")
            }
            if let text = try string(verify, "points", path: "verify.") {
                guard let points = Int(text), points >= 0 else {
                    throw BatonError(
                        .usage, "\(source): verify.points must be a number of restores (0 or more), got '\(text)'")
                }
                config.verifyPoints = points
            }
        }
        if let relay = try map(root, "relay") {
            try known(relay, "relay.", ["maxBodyBytes", "busyTimeout", "readWait", "rateLimit"])
            if let text = try string(relay, "rateLimit", path: "relay.") {
                guard let rate = Double(text), rate > 0 else {
                    throw BatonError(
                        .usage, "\(source): relay.rateLimit must be requests per second per client (> 0), got '\(text)'"
                    )
                }
                config.relayRateLimit = rate
            }
            if let text = try string(relay, "maxBodyBytes", path: "relay.") {
                guard let bytes = Int(text) else {
                    throw BatonError(.usage, "\(source): relay.maxBodyBytes must be a number of bytes, got '\(text)'")
                }
                config.relayMaxBodyBytes = bytes
            }
            config.relayBusyTimeoutMilliseconds =
                try duration(relay, "busyTimeout", path: "relay.") ?? config.relayBusyTimeoutMilliseconds
            config.relayReadWaitMilliseconds =
                try duration(relay, "readWait", path: "relay.") ?? config.relayReadWaitMilliseconds
        }
        return config
    }

    /// `retention: 24h` (the point-in-time window) or `retention: {pointInTime, snapshotInterval}`.
    private func readRetention(_ root: [String: Any], into config: inout NodeConfig) throws {
        if root["retention"] is String {
            config.retentionMilliseconds = try duration(root, "retention", path: "") ?? config.retentionMilliseconds
            return
        }
        guard let retention = try map(root, "retention") else { return }
        try known(retention, "retention.", ["pointInTime", "snapshotInterval", "hourly", "daily", "weekly"])
        func count(_ key: String) throws -> Int {
            guard let text = try string(retention, key, path: "retention.") else { return 0 }
            guard let value = Int(text), value >= 0 else {
                throw BatonError(
                    .usage, "\(source): retention.\(key) must be a number of restore points (0 or more), got '\(text)'")
            }
            return value
        }
        config.retentionHourly = try count("hourly")
        config.retentionDaily = try count("daily")
        config.retentionWeekly = try count("weekly")
        config.retentionMilliseconds =
            try duration(retention, "pointInTime", path: "retention.") ?? config.retentionMilliseconds
        config.snapshotIntervalMilliseconds =
            try duration(retention, "snapshotInterval", path: "retention.") ?? config.snapshotIntervalMilliseconds
    }

    /// `tls: {cert, key, ca, clientAuth}`.
    private func tls(_ root: [String: Any]) throws -> TLSSettings? {
        guard let tls = try map(root, "tls") else { return nil }
        try known(tls, "tls.", ["cert", "key", "ca", "clientAuth"])
        guard let cert = try string(tls, "cert", path: "tls."), let key = try string(tls, "key", path: "tls.") else {
            throw BatonError(.usage, "\(source): tls.cert and tls.key (PEM files) are required with tls:")
        }
        var settings = TLSSettings(cert: cert, key: key, ca: try string(tls, "ca", path: "tls."))
        if let mode = try string(tls, "clientAuth", path: "tls.") {
            settings.clientAuth = try choice(mode, "tls.clientAuth")
        }
        if settings.clientAuth == .require, settings.ca == nil {
            throw BatonError(
                .usage,
                "\(source): tls.clientAuth: require needs tls.ca (the authority client certificates must chain to)")
        }
        return settings
    }

    /// `databases:` as a list of `{path, name}` (or plain paths), or `{dir, pattern}`.
    private func databases(_ root: [String: Any]) throws -> DatabaseGroup? {
        guard let value = root["databases"], !(value is NSNull) else { return nil }
        if root["database"] != nil, !(root["database"] is NSNull) {
            throw BatonError(.usage, "\(source): use either database: (one file) or databases: (a group), not both")
        }
        do {
            if let directory = value as? [String: Any] {
                try known(directory, "databases.", ["dir", "pattern"])
                guard let dir = try string(directory, "dir", path: "databases.") else {
                    throw BatonError(.usage, "databases.dir is required with databases.pattern")
                }
                let pattern = try string(directory, "pattern", path: "databases.") ?? "*.sqlite3"
                return try DatabaseGroup(directory: .init(path: dir, pattern: pattern))
            }
            guard let list = value as? [Any] else {
                throw BatonError(
                    .usage, "databases must be a list of {path, name} or a mapping {dir, pattern}")
            }
            var members: [DatabaseGroup.Member] = []
            for (index, item) in list.enumerated() {
                let path = "databases[\(index)]."
                if let text = item as? String {
                    members.append(.init(path: text))
                    continue
                }
                guard let entry = item as? [String: Any] else {
                    throw BatonError(.usage, "databases[\(index)] must be a path or a mapping with path (and name)")
                }
                try known(entry, path, ["path", "name"])
                guard let file = try string(entry, "path", path: path) else {
                    throw BatonError(.usage, "\(path)path is required")
                }
                members.append(.init(name: try string(entry, "name", path: path), path: file))
            }
            return try DatabaseGroup(members: members)
        } catch let error as BatonError where !error.message.hasPrefix(source) {
            throw BatonError(error.code, "\(source): \(error.message)")
        }
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ text: String, _ path: String) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw BatonError(.usage, "\(source): \(path) must be one of \(allowed), got '\(text)'")
        }
        return value
    }

    private func known(_ map: [String: Any], _ path: String, _ keys: Set<String>) throws {
        for key in map.keys.sorted() where !keys.contains(key) {
            throw BatonError(
                .usage, "\(source): unknown key \(path)\(key) (known: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    private func scalarText(_ value: Any) -> String? {
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        case let number as Double: return String(number)
        case let flag as Bool: return String(flag)
        default: return nil
        }
    }

    private func string(_ map: [String: Any], _ key: String, path: String = "") throws -> String? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let text = scalarText(value) else {
            throw BatonError(.usage, "\(source): \(path)\(key) must be a string")
        }
        return text
    }

    private func map(_ map: [String: Any], _ key: String, path: String = "") throws -> [String: Any]? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let nested = value as? [String: Any] else {
            throw BatonError(.usage, "\(source): \(path)\(key) must be a mapping")
        }
        return nested
    }

    private func duration(_ map: [String: Any], _ key: String, path: String) throws -> Int64? {
        guard let text = try string(map, key, path: path) else { return nil }
        guard let value = DurationText.milliseconds(text) else {
            throw BatonError(.usage, "\(source): \(path)\(key) must be a duration like 500ms, 10s or 5m, got '\(text)'")
        }
        return value
    }
}
