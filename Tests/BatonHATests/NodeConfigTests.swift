import BatonCore
import Testing

@testable import BatonHA

@Suite struct NodeConfigTests {
    let full = """
        name: a
        database: /srv/app/app.db
        store: ${STORE:-file:///srv/replica}
        token: ${BATON_TOKEN}
        insecure: true
        api:
          listen: 0.0.0.0:8700
          advertise: http://10.0.0.1:8700
        proxy:
          listen: 0.0.0.0:8080
          upstream: http://127.0.0.1:3000
        app:
          command: ./server --port 3000
          env:
            RAILS_ENV: production
            WORKERS: 4
          ready: http://127.0.0.1:3000/up
          startTimeout: 1m
          stopTimeout: 20s
        peers:
          - name: b
            api: http://10.0.0.2:8700
            proxy: http://10.0.0.2:8080
        lease:
          ttl: 15s
          heartbeatTimeout: 3s
        handoff:
          holdTimeout: 30s
          timeout: 5s
        replication:
          batchWindow: 500ms
          mode: sync
          onStandbyLoss: strict
          standbyTimeout: 250ms
          readMethods: [GET, head]
        relay:
          maxBodyBytes: 65536
          busyTimeout: 2s
          readWait: 300ms
        diverged:
          keep: 3
        encryption:
          identity: /etc/baton/key.txt
          recipients: [age1htv8rtnsxwwxzld0sw6f9c3xzftyaxy0mdwaxvs2ml6skvzztcsqzd9gt6]
        """

    @Test func everyKeyIsRead() throws {
        let config = try NodeConfig.parse(full, source: "baton.yml", environment: ["BATON_TOKEN": "s3cret"])
        #expect(config.name == "a")
        #expect(config.database == "/srv/app/app.db")
        #expect(config.store == "file:///srv/replica")
        #expect(config.token == "s3cret")
        #expect(config.insecure)
        #expect(config.apiListen == "0.0.0.0:8700")
        #expect(config.advertisedAPI == "http://10.0.0.1:8700")
        #expect(config.proxyListen == "0.0.0.0:8080")
        #expect(config.appUpstream == "http://127.0.0.1:3000")
        #expect(config.appCommand == "./server --port 3000")
        #expect(config.appEnvironment == ["RAILS_ENV": "production", "WORKERS": "4"])
        #expect(config.appReadyURL == "http://127.0.0.1:3000/up")
        #expect(config.appStartTimeoutMilliseconds == 60_000)
        #expect(config.appStopTimeoutMilliseconds == 20_000)
        #expect(config.peers == [.init(name: "b", api: "http://10.0.0.2:8700", proxy: "http://10.0.0.2:8080")])
        #expect(config.leaseTTLMilliseconds == 15_000)
        #expect(config.heartbeatTimeoutMilliseconds == 3000)
        #expect(config.holdTimeoutMilliseconds == 30_000)
        #expect(config.handoffTimeoutMilliseconds == 5000)
        #expect(config.storeBatchWindowMilliseconds == 500)
        #expect(config.replicationMode == .sync)
        #expect(config.onStandbyLoss == .strict)
        #expect(config.standbyTimeoutMilliseconds == 250)
        #expect(config.readMethods == ["GET", "HEAD"])
        #expect(config.relayMaxBodyBytes == 65536)
        #expect(config.relayBusyTimeoutMilliseconds == 2000)
        #expect(config.relayReadWaitMilliseconds == 300)
        #expect(config.divergedCopiesKept == 3)
        #expect(config.encryptionIdentity == "/etc/baton/key.txt")
        #expect(config.encryptionRecipients == ["age1htv8rtnsxwwxzld0sw6f9c3xzftyaxy0mdwaxvs2ml6skvzztcsqzd9gt6"])
        try config.validate()
    }

    @Test func replicationCanBeGivenAsItsModeAlone() throws {
        let config = try NodeConfig.parse("replication: sync", source: "baton.yml", environment: [:])
        #expect(config.replicationMode == .sync && config.onStandbyLoss == .degrade)
        #expect(NodeConfig().replicationMode == .async)
    }

    @Test func everyDivergedCopyIsKeptUnlessALimitIsSet() throws {
        #expect(NodeConfig().divergedCopiesKept == nil)
        let all = try NodeConfig.parse("diverged:\n  keep: all", source: "baton.yml", environment: [:])
        #expect(all.divergedCopiesKept == nil)
    }

    @Test func retentionIsADayOfHistoryAndADailySnapshotUnlessSet() throws {
        #expect(NodeConfig().retentionMilliseconds == 86_400_000)
        #expect(NodeConfig().snapshotIntervalMilliseconds == 86_400_000)
        let short = try NodeConfig.parse("retention: 2h", source: "baton.yml", environment: [:])
        #expect(short.retentionMilliseconds == 7_200_000 && short.snapshotIntervalMilliseconds == 86_400_000)
        let both = try NodeConfig.parse(
            "retention:\n  pointInTime: 7d\n  snapshotInterval: 6h", source: "baton.yml", environment: [:])
        #expect(both.retentionMilliseconds == 7 * 86_400_000 && both.snapshotIntervalMilliseconds == 6 * 3_600_000)
        #expect(!both.retentionPolicy.hasTiers)
        let tiers = try NodeConfig.parse(
            "retention: {pointInTime: 24h, hourly: 48, daily: 30, weekly: 52}", source: "baton.yml", environment: [:])
        #expect(
            tiers.retentionPolicy
                == RetentionPolicy(pointInTimeMilliseconds: 86_400_000, hourly: 48, daily: 30, weekly: 52))
    }

    @Test func tlsNamesItsFilesAndMutualTLSStandsInForTheToken() throws {
        let text = """
            name: a
            database: app.db
            store: file:///r
            api: {listen: 0.0.0.0:8700}
            tls: {cert: a.crt, key: a.key, ca: ca.crt, clientAuth: require}
            peers:
              - {name: b, api: "https://10.0.0.2:8700", proxy: "https://10.0.0.2:8080"}
            """
        let config = try NodeConfig.parse(text, source: "baton.yml", environment: [:])
        #expect(config.tls == TLSSettings(cert: "a.crt", key: "a.key", ca: "ca.crt", clientAuth: .require))
        #expect(config.advertisedAPI == "https://0.0.0.0:8700")
        try config.validate()  // no token: mutual TLS guards the API
        var plainPeer = config
        plainPeer.peers[0].api = "http://10.0.0.2:8700"
        #expect(throws: BatonError.self) { try plainPeer.validate() }
        var serverOnly = config
        serverOnly.tls?.clientAuth = .none
        #expect(throws: BatonError.self) { try serverOnly.validate() }  // public API, no token, no mutual TLS
    }

    @Test func drillsRunOnlyWhenAsked() throws {
        #expect(NodeConfig().verifyEveryMilliseconds == nil)
        let config = try NodeConfig.parse("verify: {every: 24h, points: 2}", source: "baton.yml", environment: [:])
        #expect(config.verifyEveryMilliseconds == 86_400_000 && config.verifyPoints == 2)
    }

    @Test func environmentExpansion() throws {
        #expect(try ConfigExpansion.expand("a ${X} b", environment: ["X": "1"], source: "t") == "a 1 b")
        #expect(try ConfigExpansion.expand("${X:-dflt}", environment: [:], source: "t") == "dflt")
        #expect(try ConfigExpansion.expand("cost $$5 and $HOME", environment: [:], source: "t") == "cost $5 and $HOME")
        #expect(throws: BatonError.self) { try ConfigExpansion.expand("${MISSING}", environment: [:], source: "t") }
        #expect(throws: BatonError.self) { try ConfigExpansion.expand("${a b}", environment: [:], source: "t") }
    }

    @Test func mistakesAreNamedWithTheirKey() {
        func message(_ text: String) -> String {
            do {
                _ = try NodeConfig.parse(text, source: "baton.yml", environment: [:])
                return ""
            } catch let error as BatonError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(message("name: a\nstroe: x").contains("unknown key stroe"))
        #expect(message("lease:\n  ttl: soon").contains("lease.ttl must be a duration"))
        #expect(message("api: 8700").contains("api must be a mapping"))
        #expect(message("peers:\n  - name: b").contains("peers[0].api"))
        #expect(message("app:\n  env: [1, 2]").contains("app.env must be a mapping"))
        #expect(message(": : :").contains("not valid YAML"))
        #expect(message("replication: sometimes").contains("replication must be one of async, sync"))
        #expect(message("replication:\n  onStandbyLoss: panic").contains("one of degrade, strict"))
        #expect(message("relay:\n  maxBodyBytes: big").contains("relay.maxBodyBytes must be a number"))
        #expect(message("diverged:\n  keep: 0").contains("diverged.keep must be 'all' or a number"))
        #expect(message("diverged:\n  keep: some").contains("diverged.keep must be 'all' or a number"))
        #expect(message("encryption:\n  recipients: [age1x]").contains("encryption.identity"))
        #expect(
            message("encryption:\n  identity: k\n  recipients: age1x").contains("encryption.recipients must be a list"))
        #expect(message("encryption:\n  identiy: k").contains("unknown key encryption.identiy"))
        #expect(message("tls:\n  cert: a.crt").contains("tls.cert and tls.key"))
        #expect(message("tls:\n  cert: a\n  key: b\n  clientAuth: require").contains("needs tls.ca"))
        #expect(message("tls:\n  cert: a\n  key: b\n  clientAuth: maybe").contains("one of none, require"))
        #expect(message("verify:\n  points: 3").contains("verify.every"))
        #expect(message("verify:\n  every: 1d\n  points: many").contains("verify.points must be a number"))
        #expect(message("retention: forever").contains("retention must be a duration"))
        #expect(message("retention:\n  hourly: -1").contains("retention.hourly must be a number of restore points"))
        #expect(message("retention:\n  monthly: 12").contains("unknown key retention.monthly"))
        #expect(message("retention:\n  snapshotInterval: often").contains("retention.snapshotInterval must be"))
    }

    @Test func validationRefusesUnsafeOrIncompleteSettings() throws {
        var config = NodeConfig()
        config.name = "a"
        config.database = "app.db"
        config.store = "file:///r"
        try config.validate()
        config.apiListen = "0.0.0.0:8700"
        #expect(throws: BatonError.self) { try config.validate() }  // public API without a token
        config.token = "t"
        #expect(throws: BatonError.self) { try config.validate() }  // public API in clear: needs tls: or insecure
        config.insecure = true
        try config.validate()
        config.proxyListen = "127.0.0.1:8080"
        #expect(throws: BatonError.self) { try config.validate() }  // proxy without upstream
        config.appUpstream = "http://127.0.0.1:3000"
        try config.validate()
        config.peers = [.init(name: "a", api: "http://x")]
        #expect(throws: BatonError.self) { try config.validate() }  // itself as a peer
        config.peers = []
        config.leaseTTLMilliseconds = 2000
        #expect(throws: BatonError.self) { try config.validate() }
        config.leaseTTLMilliseconds = 10_000
        config.retentionMilliseconds = 1000
        #expect(throws: BatonError.self) { try config.validate() }  // a second of history: a typo
    }
}

@Suite struct AppSupervisorTests {
    @Test func aSimpleCommandReplacesTheShellAndACompoundOneRunsAsWritten() {
        #expect(AppSupervisor.shellLine("./server --port 3000") == "exec ./server --port 3000")
        #expect(AppSupervisor.shellLine("cd /srv && exec ./server") == "cd /srv && exec ./server")
        #expect(AppSupervisor.shellLine("a | b") == "a | b")
    }

    @Test func aGroupIsAListOrADirectory() throws {
        let listed = try NodeConfig.parse(
            """
            databases:
              - path: storage/production.sqlite3
              - path: storage/production_queue.sqlite3
                name: queue
              - storage/production_cable.sqlite3
            store: file:///srv/replica
            """, source: "baton.yml", environment: [:])
        #expect(listed.group?.names == ["production", "queue", "production_cable"])
        #expect(listed.group?.prefixed == true)
        let folder = try NodeConfig.parse(
            "databases: {dir: storage, pattern: \"*.db\"}\nstore: s3://b/p\n", source: "baton.yml", environment: [:])
        #expect(folder.group?.directory == .init(path: "storage", pattern: "*.db"))
        let single = try NodeConfig.parse("database: app.db\n", source: "baton.yml", environment: [:])
        #expect(single.group == .single(path: "app.db"))
    }

    @Test func groupMistakesNameTheKey() {
        let bad: [(String, String)] = [
            ("database: a.db\ndatabases: [b.db]\n", "not both"),
            ("databases: [{file: a.db}]\n", "unknown key databases[0].file"),
            ("databases: [{name: a}]\n", "databases[0].path is required"),
            ("databases: {pattern: \"*.db\"}\n", "databases.dir is required"),
            ("databases: a.db\n", "must be a list"),
            ("databases: [a/x.db, b/x.db]\n", "two databases are named 'x'"),
        ]
        for (text, expected) in bad {
            do {
                _ = try NodeConfig.parse(text, source: "baton.yml", environment: [:])
                Issue.record("accepted: \(text)")
            } catch let error as BatonError {
                #expect(error.message.hasPrefix("baton.yml: ") && error.message.contains(expected), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func theNodeHoldsAListedGroupButNotADirectory() throws {
        let listed = try NodeConfig.parse(
            "name: a\ndatabases: [a.db, b.db]\nstore: file:///srv/r\n", source: "baton.yml", environment: [:])
        try listed.validate()
        #expect(listed.databaseNames == ["a", "b"])
        #expect(listed.group?.members.first?.path == "a.db")
        let folder = try NodeConfig.parse(
            "name: a\ndatabases: {dir: storage, pattern: \"*.db\"}\nstore: file:///srv/r\n", source: "baton.yml",
            environment: [:])
        do {
            try folder.validate()
            Issue.record("a directory group was accepted for the node")
        } catch let error as BatonError {
            #expect(error.message.contains("listed"), "\(error.message)")
        }
        let none = try NodeConfig.parse("name: a\nstore: file:///srv/r\n", source: "baton.yml", environment: [:])
        #expect(throws: BatonError.self) { try none.validate() }
    }
}
