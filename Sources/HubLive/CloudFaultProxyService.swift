import HubCore
import HubKernel
import Synchronization

/// The cloud fault proxy with its control socket: `TCPFaultProxy` moves the bytes, a
/// `ControlDesk` that takes only cloud faults answers `hubrig fault` on the socket.
///
/// One piece for `hubrig cloud proxy` (its own process) and a live scenario run (a thread
/// of the rig), so both break the link through the same desk and the same socket protocol.
public final class CloudFaultProxyService: Sendable {
    public let proxy: TCPFaultProxy
    public let controlSocket: String
    private let server: ControlSocketServer
    private let inbox = CompletionInbox()
    private let stopRequested = Atomic<Bool>(false)
    private let clock = LiveClock()

    public init(listenPort: UInt16, upstreamHost: String, upstreamPort: UInt16, seed: UInt64, controlSocket: String) {
        proxy = TCPFaultProxy(listenPort: listenPort, upstreamHost: upstreamHost, upstreamPort: upstreamPort, seed: seed)
        self.controlSocket = controlSocket
        server = ControlSocketServer(socketPath: controlSocket, wakeLoop: { [inbox] in inbox.wake() })
    }

    public var upstream: String { "\(proxy.upstreamHost):\(proxy.upstreamPort)" }

    /// Listens on the proxy's port and on the control socket.
    public func start() throws(ProxyStartError) {
        do { try proxy.start() } catch { throw .listen("\(error)") }
        do { try server.start() } catch {
            proxy.stop()
            throw .controlSocket("\(error)")
        }
    }

    /// Serves control requests and expires timed faults until `requestStop` or `deadline`
    /// (on the proxy's own real clock: a fault's `for` is real time).
    public func serve(until deadline: Instant?) {
        var desk = ControlDesk(thing: "cloud-proxy", componentNames: [], wireFaults: false, cloudFaults: true)
        func apply(_ effects: [ControlDesk.Effect]) {
            for case .cloud(let fault, let active) in effects { proxy.set(fault, active: active) }
        }
        while !stopRequested.load(ordering: .relaxed), deadline.map({ clock.now < $0 }) ?? true {
            inbox.wait(.milliseconds(200))
            _ = inbox.take()
            let now = clock.now
            apply(desk.expire(now: now))
            server.serviceRequests { line in
                let (reply, _, effects) = desk.handle(line: line, now: now) { [proxy, upstream] faults in
                    ProxyStatus(listenPort: proxy.port, upstream: upstream, statistics: proxy.statistics, faults: faults)
                }
                apply(effects)
                return (reply, false)
            }
        }
    }

    /// Ends `serve` within one turn.
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
        inbox.wake()
    }

    /// Closes the control socket and the proxy (every connection through it).
    public func stop() {
        server.stop()
        proxy.stop()
    }
}

/// The proxy could not start.
public enum ProxyStartError: Error, CustomStringConvertible {
    case listen(String)
    case controlSocket(String)

    public var description: String {
        switch self {
        case .listen(let reason): "listen: \(reason)"
        case .controlSocket(let reason): "control socket: \(reason)"
        }
    }
}
