import BatonCore
import Foundation

@testable import BatonStore

/// A real S3-compatible server (moto_server, from the moto[server] PyPI
/// package) on a free loopback port, started for a test and stopped after.
final class MotoServer: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    /// The server's log, for diagnosing a failed test.
    let logPath: String
    var endpoint: String { "http://127.0.0.1:\(port)" }
    private var stopped = false

    /// Spawns the server; `started()` waits until it answers.
    private init() throws {
        port = try MotoServer.freePort()
        logPath = "/tmp/baton-moto-\(port).log"
        // The real interpreter (not a shell shim that would outlive a SIGTERM),
        // spawned directly so the test can reap it itself.
        // Tests/integration/moto_server.py: moto with atomic conditional writes (as S3 has).
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("integration/moto_server.py").path
        let arguments = [try MotoServer.python(), script, "-H", "127.0.0.1", "-p", "\(port)"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        guard posix_spawn(&child, arguments[0], &actions, nil, &argv, environ) == 0 else {
            throw BatonError(.io, "cannot start moto_server")
        }
        pid = child
    }

    /// A server that accepts connections. The wait (Python starting, up to
    /// 10 s) sleeps instead of blocking a thread: tests run in parallel on
    /// a small cooperative pool, and a blocked pool stalls every other test.
    static func started() async throws -> MotoServer {
        let server = try MotoServer()
        for _ in 0..<200 {
            if canConnect(server.port) { return server }
            var status: Int32 = 0
            if waitpid(server.pid, &status, WNOHANG) != 0 {
                server.stopped = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        server.stop()
        throw BatonError(
            .io,
            "moto_server did not start on port \(server.port) (pip install 'moto[server]'); see \(server.logPath)")
    }

    /// SIGTERM, then SIGKILL after 5 s; always reaped.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<100 {
            // -1 (ECHILD): Foundation's child reaper got there first; it has exited.
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || reaped == -1 { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    deinit { stop() }

    /// A store on a new, empty bucket.
    func makeStore(prefix: String = "replica", configure: (inout S3Configuration) -> Void = { _ in }) async throws
        -> S3Store
    {
        let bucket = "test-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = try S3Configuration(
            bucket: bucket, prefix: prefix, query: ["endpoint": endpoint],
            environment: ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"])
        configuration.requestTimeoutSeconds = 10
        configure(&configuration)
        let store = S3Store(configuration: configuration)
        _ = try await store.send(S3Request(method: "PUT", objectKey: nil, kind: "create-bucket"))
        return store
    }

    static func python() throws -> String {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
        let output = Pipe()
        probe.standardOutput = output
        try probe.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard probe.terminationStatus == 0, !path.isEmpty else { throw BatonError(.io, "python3 not found") }
        return path
    }

    /// A loopback port nobody listens on now (the kernel's pick).
    static func freePort() throws -> Int {
        let (descriptor, port) = try SilentServer.bindLoopback(listening: false)
        close(descriptor)
        return port
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
