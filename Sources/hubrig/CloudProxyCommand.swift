import ArgumentParser
import Foundation
import HubCore
import HubKernel
import HubLive

extension CloudCommand {
    /// `hubrig cloud proxy`: the TCP fault proxy between a hub and its cloud broker, with a
    /// control socket for `hubrig fault inject cloud.*`.
    struct Proxy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the cloud fault proxy: hub → 127.0.0.1:PORT → the broker, breakable through its control socket.",
            discussion: """
                Point the hub's --cloud-host/--cloud-port at the proxy. Faults (docs/control.md): \
                cloud.offline, cloud.blackhole, cloud.latency (extra, jitter), cloud.bandwidth (rate), \
                cloud.reset-after (bytes), cloud.slow-close (delay), injected with \
                `hubrig fault inject cloud.offline --socket <the proxy's control socket>`. Runs until \
                SIGTERM, SIGINT or --duration.
                """)

        @Option(help: "Port to listen on at 127.0.0.1 (0: any free one, printed).")
        var listen: UInt16 = 0

        @Option(help: "The broker, host:port.")
        var upstream: String

        @Option(name: .customLong("control-socket"), help: "The proxy's control socket.")
        var controlSocket = "fault-proxy.sock"

        @Option(help: "Seed of the jitter draws.")
        var seed: UInt64 = 1

        @Option(help: "Stop after this long (e.g. 10m).")
        var duration: String?

        func run() throws {
            guard let colon = upstream.lastIndex(of: ":"), let port = UInt16(upstream[upstream.index(after: colon)...]), port > 0 else {
                throw ValidationError("--upstream \(upstream): expected host:port")
            }
            let host = String(upstream[..<colon])
            let stopAfter: Duration?
            do { stopAfter = try duration.map { try DurationText.parse($0) } } catch { throw ValidationError("--duration: \(error)") }
            let service = CloudFaultProxyService(listenPort: listen, upstreamHost: host, upstreamPort: port, seed: seed, controlSocket: controlSocket)
            do { try service.start() } catch {
                switch error {
                case .listen: throw ValidationError("--listen: \(error)")
                case .controlSocket: throw ValidationError("--control-socket: \(error)")
                }
            }
            defer { service.stop() }
            // Unbuffered: a parent waits for this line to learn the port.
            FileHandle.standardOutput.write(Data("hubrig cloud proxy: 127.0.0.1:\(service.proxy.port) → \(upstream); control socket \(controlSocket)\n".utf8))
            let deadline = stopAfter.map { LiveClock().now + $0 }
            let loop = LoopService(name: "fault-proxy", body: { service.serve(until: deadline) }, stop: { service.requestStop() })
            try LiveServices.run([loop], label: "hubrig-cloud-proxy")
        }
    }
}

