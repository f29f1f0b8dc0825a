import BatonCore
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Runs a node's services in one group: the front proxy, the node API, the
/// workers (`NodeWorkers`) and the driver. SIGTERM/SIGINT shut the driver
/// down first (a holder hands over, with its lease keeper still renewing),
/// then the workers, the API, and last the proxy, which finishes the
/// requests it holds or forwards.
public struct NodeService: Service {
    let node: Node

    /// The driver as a service for `node`; it needs the node's workers
    /// running beside it in the same group (`core`, `runUntilSignalled`).
    init(node: Node) { self.node = node }

    public func run() async throws {
        let driver = NodeDriver(node: node)
        try await withGracefulShutdownHandler {
            try await driver.run()
        } onGracefulShutdown: { [node] in
            node.requestShutdown()
        }
    }

    /// Runs `node` until a signal stops it.
    public static func runUntilSignalled(_ node: Node) async throws {
        var logger = Logger(label: "baton")
        logger.logLevel = .warning
        let config = node.config
        guard let api = HostPort(config.apiListen) else { throw BatonError(.usage, "bad api.listen") }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let listen = config.proxyListen, let proxy = HostPort(listen) {
            let app = Application(
                responder: FrontProxy(node: node).responder(),
                server: node.tls.map { HTTPServerBuilder.tls($0, listener: .proxy) } ?? .http1(),
                configuration: .init(address: .hostname(proxy.host, port: proxy.port), serverName: nil),
                logger: logger)
            services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let apiApp = Application(
            router: NodeAPI(node: node).router(),
            server: node.tls.map { HTTPServerBuilder.tls($0, listener: .api) } ?? .http1(),
            configuration: .init(address: .hostname(api.host, port: api.port), serverName: nil), logger: logger)
        services.append(.init(service: apiApp, successTerminationBehavior: .gracefullyShutdownGroup))
        if let every = config.verifyEveryMilliseconds {
            let drills = RestoreDrillService(node: node, everyMilliseconds: every, points: config.verifyPoints)
            services.append(.init(service: drills, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if let tls = node.tls {
            services.append(
                .init(
                    service: TLSReloadService(tls: tls, log: node.log),
                    successTerminationBehavior: .gracefullyShutdownGroup))
        }
        services += core(node)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The node without its HTTP servers: its workers, then the driver
    /// (shut down first, since it still uses them while handing over).
    static func core(_ node: Node) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        node.workers.all.map {
            .init(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        } + [
            .init(
                service: NodeService(node: node), successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        ]
    }
}
