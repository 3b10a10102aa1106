import ArgumentParser
import Foundation
import HubCore
import HubKernel
import HubLive
import Synchronization

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
            let proxy = TCPFaultProxy(listenPort: listen, upstreamHost: host, upstreamPort: port, seed: seed)
            do { try proxy.start() } catch { throw ValidationError("--listen: \(error)") }
            defer { proxy.stop() }
            let inbox = CompletionInbox()
            let server = ControlSocketServer(socketPath: controlSocket, wakeLoop: { [inbox] in inbox.wake() })
            do { try server.start() } catch { throw ValidationError("--control-socket: \(error)") }
            defer { server.stop() }
            // Unbuffered: a parent waits for this line to learn the port.
            FileHandle.standardOutput.write(Data("hubrig cloud proxy: 127.0.0.1:\(proxy.port) → \(upstream); control socket \(controlSocket)\n".utf8))
            let clock = LiveClock()
            let deadline = stopAfter.map { clock.now + $0 }
            let stop = Atomic<Bool>(false)
            let loop = LoopService(name: "fault-proxy", body: {
                var desk = ControlDesk(thing: "cloud-proxy", componentNames: [], wireFaults: false, cloudFaults: true)
                func apply(_ effects: [ControlDesk.Effect]) {
                    for case .cloud(let fault, let active) in effects { proxy.set(fault, active: active) }
                }
                while !stop.load(ordering: .relaxed), deadline.map({ clock.now < $0 }) ?? true {
                    inbox.wait(.milliseconds(200))
                    _ = inbox.take()
                    let now = clock.now
                    apply(desk.expire(now: now))
                    server.serviceRequests { line in
                        let (reply, _, effects) = desk.handle(line: line, now: now) { faults in
                            ProxyStatus(listenPort: proxy.port, upstream: upstream, statistics: proxy.statistics, faults: faults)
                        }
                        apply(effects)
                        return (reply, false)
                    }
                }
            }, stop: { stop.store(true, ordering: .relaxed) })
            try LiveServices.run([loop], label: "hubrig-cloud-proxy")
        }
    }
}

