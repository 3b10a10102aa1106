import Foundation
import Glibc
import HubCore
import HubKernel

/// One of the hub's built-in components as a process of its own (`hub component NAME --ipc
/// SOCKET`): the component's value behind `ComponentOverIPC`, on the live shell's loop,
/// talking to the hub's bus server over the Unix socket.
///
/// It runs the same code as the hub process does — the component's `handle`, the client's
/// buffer, acknowledgements and backoff — only the shell is new: a reader thread per
/// connection posts frames to the loop (as `ipcFrame`/`ipcClosed` completions of that
/// connection's number), the loop writes frames, fires the component's timers, connects
/// after the client's backoff and carries out port requests against `ports` (the same
/// `HubPorts.perform` as the hub's host).
public final class IPCComponentProcess<C: HubComponent> {
    private let shell: LiveShell
    private let socketPath: String
    private let ports: HubPorts
    private let history: any HistorySink
    private let log: (String) -> Void
    private var value: ComponentOverIPC<C>
    /// The connection in use and its number (frames of an earlier one are ignored).
    private var connection: (socket: SharedSocket, session: Int)?
    private var sessions = 0
    /// The client's totals as last recorded (`ipc.client`).
    private var reported: (published: Int, dropped: Int, held: Int)?

    /// The component's own timers, as the shell's `HubTimer`s; `connect` marks the client's next attempt.
    private static var componentTimer: Int { 0 }
    private static var connectTimer: Int { 1 }
    private struct Connect: Sendable {}

    public init(component: C, socketPath: String, shell: LiveShell, ports: HubPorts, history: any HistorySink, backoff: ReconnectBackoff,
                log: @escaping (String) -> Void) {
        value = ComponentOverIPC(component: component, backoff: backoff)
        self.socketPath = socketPath
        self.shell = shell
        self.ports = ports
        self.history = history
        self.log = log
    }

    /// What the client holds and has dropped (for the log at the end).
    public var client: IPCClient { value.client }

    /// Starts the component and runs until `deadline` or a stop request; says `bye` at the end.
    public func run(until deadline: Instant?) {
        let now = shell.clock.now
        perform(value.start(now: now), now: now)
        connect(now: now)
        shell.loop.run(until: deadline) { event, now in
            switch event {
            case .timer(let timer) where timer.component == Self.connectTimer:
                connect(now: now)
            case .timer(let timer):
                guard let payload = timer.payload as? C.Timer else { preconditionFailure("timer \(timer.payload) is not \(value.component.name)'s") }
                perform(value.timer(payload, now: now), now: now)
            case .completion(.ipcFrame(let session, let frame)):
                if session == connection?.session { perform(value.received(frame, now: now), now: now) }
            case .completion(.ipcClosed(let session)):
                guard session == connection?.session else { return }
                connection = nil
                perform(value.disconnected(now: now, reason: "the connection closed"), now: now)
            case .completion(let completion):
                perform(value.completion(completion, now: now), now: now)
            case .edge:
                break
            }
        }
        if let connection {
            try? connection.socket.socket.send(IPCFrame.bye.encoded())
            connection.socket.hangUp()
        }
    }

    private func connect(now: Instant) {
        let socket: IPCSocket
        do { socket = try IPCSocket.connect(socketPath, seconds: 0) } catch {
            perform(value.disconnected(now: now, reason: "\(error)"), now: now)
            return
        }
        sessions += 1
        let shared = SharedSocket(socket)
        connection = (shared, sessions)
        shared.startReading(session: sessions, inbox: shell.inbox, clock: shell.clock)
        perform(value.connected(now: now), now: now)
    }

    private func perform(_ actions: [ComponentOverIPC<C>.Action], now: Instant) {
        for action in value.performingRequests(actions, with: ports, now: now) {
            switch action {
            case .client(.send(let frame)):
                guard let connection else { continue }
                // A failed write means the connection is gone: the reader hears the end and reports it.
                do { try connection.socket.socket.send(frame.encoded()) } catch { connection.socket.hangUp() }
            case .client(.connect(let at)):
                shell.schedule(HubTimer(component: Self.connectTimer, payload: Connect()), at: at)
            case .client(.log(let text)):
                log(text)
            case .client(.close(let reason)):
                log(reason)
                connection?.socket.hangUp()
            case .client(.deliver):
                preconditionFailure("ComponentOverIPC hands bus messages to its component")
            case .schedule(let timer, let at):
                shell.schedule(HubTimer(component: Self.componentTimer, payload: timer), at: at)
            case .record(let event):
                history.record(event, at: now)
            case .request:
                preconditionFailure("performingRequests carries out every request")
            }
        }
        // The client's totals, recorded as they change: with the bus's side in the hub's log,
        // every publish is accounted for at any instant a judge cuts the history
        // (`IPCAccounting` takes the last report).
        let client = value.client
        let totals = (client.publishedCount, client.droppedCount, client.heldCount)
        if reported.map({ $0 != totals }) ?? true {
            reported = totals
            history.record(.ipcClient(component: value.component.name, published: totals.0, dropped: totals.1, held: totals.2), at: now)
        }
    }
}

/// A connection shared by the loop (which writes, and hangs up) and its reader thread
/// (which alone reads): `IPCSocket`'s writes keep no state, its reads are the reader's own.
final class SharedSocket: @unchecked Sendable {
    let socket: IPCSocket

    init(_ socket: IPCSocket) { self.socket = socket }

    /// Ends the connection both ways; the reader sees the end and reports it to the loop.
    func hangUp() { shutdown(socket.fd, Int32(SHUT_RDWR)) }

    /// Reads frames on a thread of their own until the connection ends, posting each batch
    /// to `inbox` as frames of `session`, then `ipcClosed`.
    func startReading(session: Int, inbox: CompletionInbox, clock: LiveClock) {
        let thread = Thread { [self] in
            while true {
                let frames: [IPCFrame]?
                do { frames = try socket.receive() } catch {
                    // The hub broke the protocol: the connection is useless.
                    hangUp()
                    frames = nil
                }
                guard let frames else { break }
                inbox.complete(contentsOf: frames.map { .ipcFrame(session: session, $0) }, at: clock.now)
            }
            inbox.complete(.ipcClosed(session: session), at: clock.now)
        }
        thread.name = "hub-component-ipc-\(session)"
        thread.start()
    }
}
