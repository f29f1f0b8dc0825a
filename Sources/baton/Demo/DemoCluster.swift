import ArgumentParser
import BatonCore
import BatonSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The processes of `baton demo`: two nodes on free loopback ports.
final class DemoCluster {
    struct Member {
        var name: String
        var api: String
        var proxy: String
        var appPort: Int
        var process: ChildProcess?
    }

    let folder: String
    let ttlMilliseconds: Int64
    var nodes: [Member] = []

    init(folder: String, ttlMilliseconds: Int64) throws {
        self.folder = folder
        self.ttlMilliseconds = ttlMilliseconds
        for name in ["a", "b"] {
            let ports = try (0..<3).map { _ in try DemoCluster.freePort() }
            nodes.append(
                Member(
                    name: name, api: "http://127.0.0.1:\(ports[0])", proxy: "http://127.0.0.1:\(ports[1])",
                    appPort: ports[2]))
        }
    }

    /// A port nobody listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw ValidationErrorText("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func start() throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        for index in nodes.indices {
            let me = nodes[index]
            let other = nodes[1 - index]
            let directory = "\(folder)/\(me.name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let arguments = [
                executable, "node", "--name", me.name, "--database", "\(directory)/app.db",
                "--store", "file://\(folder)/replica",
                "--api-listen", String(me.api.dropFirst("http://".count)),
                "--proxy-listen", String(me.proxy.dropFirst("http://".count)),
                "--upstream", "http://127.0.0.1:\(me.appPort)",
                "--app", "'\(executable)' demo-app --listen 127.0.0.1:\(me.appPort)",
                "--ready", "http://127.0.0.1:\(me.appPort)/health",
                "--peer", "\(other.name)=\(other.api),\(other.proxy)",
                "--ttl", DurationText.format(ttlMilliseconds),
            ]
            let process = try ChildProcess(arguments: arguments, options: .init(outputFile: "\(directory)/node.log"))
            nodes[index].process = process
        }
    }

    func status(_ index: Int) async -> [String: Any]? {
        guard let reply = try? await NodeControl.send("GET", nodes[index].api + "/status", token: nil),
            reply.status == 200
        else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
    }

    /// Waits until one of `candidates` answers 200 on /primary; returns it.
    func waitForHolder(among candidates: [Int], seconds: Double) async throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for index in candidates {
                if let reply = try? await NodeControl.send("GET", nodes[index].api + "/primary", token: nil),
                    reply.status == 200
                {
                    return index
                }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ValidationErrorText("no node became holder within \(Int(seconds)) s; logs are in \(folder)/*/node.log")
    }

    func waitForStreaming(_ index: Int, seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let reply = try? await NodeControl.send("GET", nodes[index].api + "/replica", token: nil),
                reply.status == 200
            {
                return
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ValidationErrorText("\(nodes[index].name) did not start streaming; logs are in \(folder)/*/node.log")
    }

    /// Waits until the standby has applied everything the holder has captured.
    func waitForCaughtUp(_ index: Int, holder: Int, seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let target = await status(holder)?["txid"] as? Int, let applied = await status(index)?["txid"] as? Int,
                applied >= target
            {
                return
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw ValidationErrorText("\(nodes[index].name) did not catch up within \(Int(seconds)) s")
    }

    /// Sends one write through a node's proxy; true when acknowledged (2xx).
    func write(_ key: String, via index: Int) async throws -> Bool {
        let reply = try? await NodeControl.send(
            "POST", nodes[index].proxy + "/write?key=\(key)", token: nil, body: Data())
        return reply.map { (200..<300).contains($0.status) } ?? false
    }

    func keys(via index: Int) async throws -> [String] {
        let reply = try await NodeControl.send("GET", nodes[index].proxy + "/keys", token: nil)
        return String(decoding: reply.body, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func kill(_ index: Int) async {
        guard let process = nodes[index].process else { return }
        process.signal(SIGKILL)
        _ = await process.exited(timeoutMilliseconds: 2000)
    }

    func stopAll() async {
        for member in nodes { member.process?.signal(SIGTERM) }
        for member in nodes {
            guard let process = member.process else { continue }
            if await process.exited(timeoutMilliseconds: 15_000) == nil { process.signal(SIGKILL) }
        }
    }
}
