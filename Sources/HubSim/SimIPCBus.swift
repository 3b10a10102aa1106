import HubCore
import HubKernel

// Fault model of the simulated IPC bus (the hub's Unix-socket bus server, its connections,
// and the component processes behind them; `ipc.<kind>`, `SimIPCBus.faultKinds`). Healthy,
// a frame reaches the other end at the instant it is sent (an event of its own on the
// loop, never within the call that sent it), in order per connection and direction. A
// component process runs the real `ComponentOverIPC` over the real `IPCClient`; the hub is
// the real `HubNode`, which hears frames and closed sessions as port completions.
// - `down`: the bus server is gone: every connection closes at once (both ends hear it;
//   frames still on their way are lost with it) and every connection attempt is refused
//   while the fault lasts. When it ends the server is back and each client reconnects
//   after its own backoff (1 s doubling to 60 s, jittered, from the bus's random stream).
//   The hub hears the server go and come back (`PortCompletion.ipcServer`), as a hub
//   whose own server thread died would know it.
// - `restart` (an instant): the server crashes and is back at once: every session closes,
//   frames in flight are lost, clients reconnect after their backoff.
// - `slow`: every frame takes `latency` longer (a stalled server or loaded host); order on
//   a connection holds, since a stream never reorders.
// - `drop`: each frame is lost with chance `p`, drawn from the bus's own random stream. A
//   stream socket cannot lose one frame and carry on, so a lost frame resets its connection
//   (both ends hear the close): a lost publish is sent again after the reconnect, a lost
//   acknowledgement makes the hub see that publish twice (at least once), a lost bus
//   message to a component is gone (the hub queues only while a component is away).
// Publishes a client could not keep (its buffer full while away) are counted by the client
// and logged as `component.error`; at the end of the run each component's totals are in the
// history (`ipc.client`: published, dropped, held), so no publish can vanish unseen.
// A process ends when the supervisor stops it or a `component.<name>.crash` fault kills it:
// what its client held is lost with its memory, logged and counted as dropped.

/// What the simulated IPC bus does at an instant (the loop's `SimEvent.ipc`).
public enum SimIPCEvent: Sendable {
    /// Run `run` of component process `process` starts.
    case start(process: Int, run: Int)
    /// The process's client tries to connect (its first try, or after its backoff).
    case connect(process: Int, run: Int)
    /// A frame from a component arrives at the hub on `connection`.
    case toHub(connection: Int, IPCFrame)
    /// A frame from the hub arrives at the component on `connection`.
    case toComponent(connection: Int, IPCFrame)
    /// The component's end of `connection` hears that it closed.
    case closed(connection: Int, reason: String)
    /// One of the component's own timers, set by run `run`.
    case timer(process: Int, run: Int, payload: any Sendable)
}

/// Which of the hub's built-in components run behind the simulated IPC bus, and how much
/// their clients hold while the bus is away.
public struct SimIPCSetup: Equatable, Sendable {
    /// Built-in component names (a scenario's `hub.ipc.components`).
    public var components: [String]
    /// `IPCClient.bufferCountMax` of each component's client.
    public var bufferCountMax: Int

    /// The built-ins that can run behind the simulated bus, as behind the real one.
    public static let runnable = StandardComponents.runnableOverIPC
    public static let defaultBufferCountMax = 10_000

    public init(components: [String] = [], bufferCountMax: Int = defaultBufferCountMax) {
        self.components = components
        self.bufferCountMax = bufferCountMax
    }
}

/// The hub's IPC bus server and the component processes behind it, in simulation: the
/// hub's `IPCPort` and `ProcessPort`.
///
/// It exists so that "a component in a process of its own survives losing the bus" is tested
/// with the real code on both sides — the node's sessions, recipe checks and probes, the
/// client's buffer, acknowledgements and backoff — in virtual time, where a fault can land
/// between any two frames and every seed replays exactly.
public final class SimIPCBus: IPCPort, ProcessPort, FaultApplying {
    private let history: any HistorySink
    private let clock: any HubClock
    private var random: SeededRandom
    /// The hub, set by the simulation once it is built.
    weak var node: HubNode?
    /// Schedules a bus event on the loop.
    var schedule: ((SimIPCEvent, Instant) -> Void)?
    /// Where the node hears a connection close that it did not close itself.
    weak var completions: (any CompletionSink)?
    private var processes: [any SimIPCProcessing] = []
    /// Open connections, in the order opened (few: one per component).
    private var connections: [Connection] = []
    private var nextConnection = 0

    private var down = false
    private var latency: Duration = .zero
    private var dropChance = 0.0

    private struct Connection {
        let id: Int
        let process: Int
        let run: Int
        /// The last arrival scheduled each way: a later frame never overtakes it.
        var lastToHub: Instant
        var lastToComponent: Instant
    }

    init(history: any HistorySink, clock: any HubClock, random: SeededRandom) {
        self.history = history
        self.clock = clock
        self.random = random
    }

    /// Whether component `name` runs behind this bus.
    public func runs(_ name: String) -> Bool { processes.contains { $0.name == name } }

    /// Puts `component` behind the bus as a process the supervisor starts by its name.
    func add<C: HubComponent>(_ component: C, bufferCountMax: Int) {
        let index = processes.count
        let stream = random.split("process.\(component.name)")
        processes.append(SimIPCProcess(component: component, index: index, bufferCountMax: bufferCountMax, random: stream, bus: self))
    }

    // MARK: ProcessPort

    public func start(_ recipe: ComponentRecipe) {
        guard let process = processes.first(where: { $0.name == recipe.name }) else { preconditionFailure("no simulated process for \(recipe.name)") }
        end(process, now: clock.now)
        process.run += 1
        process.alive = true
        schedule?(.start(process: process.index, run: process.run), clock.now)
    }

    public func stop(_ component: String) {
        guard let process = processes.first(where: { $0.name == component }) else { return }
        end(process, now: clock.now)
    }

    /// Kills the component's process (`component.<name>.crash`): the hub hears its
    /// connection close and its exit.
    func kill(_ name: String, now: Instant) {
        guard let process = processes.first(where: { $0.name == name }), process.alive else { return }
        end(process, now: now)
        completions?.complete(.processExited(component: name, reason: "killed by signal 9 (fault)"), at: now)
    }

    /// The process's current run ends: its connection closes (the hub hears it), what its
    /// client held is lost with it, counted.
    private func end(_ process: any SimIPCProcessing, now: Instant) {
        guard process.alive else { return }
        process.alive = false
        process.endRun(now: now)
        for connection in connections where connection.process == process.index {
            completions?.complete(.ipcClosed(session: connection.id), at: now)
        }
        connections.removeAll { $0.process == process.index }
    }

    // MARK: IPCPort (the hub's side)

    public func send(_ frame: IPCFrame, session: Int) {
        guard let index = connections.firstIndex(where: { $0.id == session }) else { return }
        let now = clock.now
        if lost(frame, on: session, now: now) { return }
        let at = max(now + latency, connections[index].lastToComponent)
        connections[index].lastToComponent = at
        schedule?(.toComponent(connection: session, frame), at)
    }

    public func close(session: Int, reason: String) {
        guard connections.contains(where: { $0.id == session }) else { return }
        connections.removeAll { $0.id == session }
        schedule?(.closed(connection: session, reason: "closed by the hub: \(reason)"), clock.now)
    }

    // MARK: The component's side

    /// The client of `process` sends `frame` (dropped if it is not connected: the stream is gone).
    func send(_ frame: IPCFrame, from process: Int, now: Instant) {
        guard let index = connections.firstIndex(where: { $0.process == process }) else { return }
        let id = connections[index].id
        if lost(frame, on: id, now: now) { return }
        let at = max(now + latency, connections[index].lastToHub)
        connections[index].lastToHub = at
        schedule?(.toHub(connection: id, frame), at)
    }

    /// The client of `process` closes its connection (the server broke the protocol).
    func close(from process: Int, reason: String, now: Instant) {
        for connection in connections where connection.process == process {
            reset(connection.id, reason: reason, now: now)
        }
    }

    /// Schedules a timer of `process`'s run `run`.
    func schedule(timer: any Sendable, process: Int, run: Int, at: Instant) {
        schedule?(.timer(process: process, run: run, payload: timer), at)
    }

    /// Schedules the client's next connection attempt.
    func connect(process: Int, run: Int, at: Instant) {
        schedule?(.connect(process: process, run: run), at)
    }

    /// Carries out one bus event from the loop.
    public func handle(_ event: SimIPCEvent, now: Instant) {
        switch event {
        case .start(let index, let run):
            let process = processes[index]
            guard process.alive, process.run == run else { return }
            process.start(now: now)
        case .connect(let index, let run):
            let process = processes[index]
            guard process.alive, process.run == run else { return }
            if down {
                process.disconnected(reason: "connect: connection refused (the bus server is down)", now: now)
                return
            }
            nextConnection += 1
            connections.append(Connection(id: nextConnection, process: index, run: run, lastToHub: now, lastToComponent: now))
            process.connected(nextConnection, now: now)
        case .toHub(let id, let frame):
            guard connections.contains(where: { $0.id == id }) else { return }
            node?.complete(.ipcFrame(session: id, frame), now: now)
        case .toComponent(let id, let frame):
            guard let connection = connections.first(where: { $0.id == id }) else { return }
            processes[connection.process].received(frame, now: now)
        case .closed(let id, let reason):
            // The component hears the close only if it is still on that connection's run.
            guard let process = processes.first(where: { $0.connectionID == id }) else { return }
            process.disconnected(reason: reason, now: now)
        case .timer(let index, let run, let payload):
            let process = processes[index]
            guard process.alive, process.run == run else { return }
            process.fire(payload, now: now)
        }
    }

    /// Both ends of `id` hear it close now.
    private func reset(_ id: Int, reason: String, now: Instant) {
        guard connections.contains(where: { $0.id == id }) else { return }
        connections.removeAll { $0.id == id }
        completions?.complete(.ipcClosed(session: id), at: now)
        schedule?(.closed(connection: id, reason: reason), now)
    }

    /// Whether `drop` takes `frame`: then its connection resets.
    private func lost(_ frame: IPCFrame, on id: Int, now: Instant) -> Bool {
        guard dropChance > 0, random.chance(dropChance) else { return false }
        reset(id, reason: "connection reset: \(frame.type) frame lost (fault)", now: now)
        return true
    }

    // MARK: Faults

    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .ipc(let kind) = fault else { preconditionFailure("\(fault.name) is not an IPC fault") }
        switch kind {
        case .down:
            down = active
            completions?.complete(.ipcServer(up: !active), at: now)
            if active { resetAll(reason: "the bus server is gone", now: now) }
        case .restart:
            if active { resetAll(reason: "the bus server restarted", now: now) }
        case .slow(let extra):
            latency = active ? extra : .zero
        case .drop(let chance):
            dropChance = active ? chance : 0
        }
    }

    private func resetAll(reason: String, now: Instant) {
        for connection in connections { reset(connection.id, reason: reason, now: now) }
    }

    /// The power is gone: every process dies with the hub (what their clients held is lost,
    /// counted as dropped) and every connection with it; the next hub starts them again.
    func powerLost(now: Instant) {
        for process in processes where process.alive {
            process.alive = false
            process.endRun(now: now)
        }
        connections.removeAll()
    }

        /// Records each component's totals (`ipc.client`) at the end of a run.
    func recordTotals(at end: Instant) {
        for process in processes {
            history.record(.ipcClient(component: process.name, published: process.published, dropped: process.dropped,
                                      held: process.held), at: end)
        }
    }

    /// The IPC fault kinds (see the fault model at the top of this file).
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "ipc", name: "down",
                  summary: "the bus server is gone: connections close, reconnects are refused until the fault ends", port: "SimIPCBus") { _, _ in
            .ipc(.down)
        },
        FaultKind(layer: "ipc", name: "restart", summary: "the bus server crashes and is back at once: every session closes",
                  port: "SimIPCBus") { _, _ in .ipc(.restart) },
        FaultKind(layer: "ipc", name: "slow",
                  parameters: [FaultParameter("latency", .duration(.milliseconds(1)...Duration.seconds(3600)), default: "2s",
                                              summary: "added to every frame, each way")],
                  summary: "frames arrive late (a stalled server), in order", port: "SimIPCBus") {
            .ipc(.slow(latency: $1.duration("latency")))
        },
        FaultKind(layer: "ipc", name: "drop",
                  parameters: [FaultParameter("p", .probability, default: "0.01", summary: "chance per frame")],
                  summary: "frames are lost; a lost frame resets its connection", port: "SimIPCBus") {
            .ipc(.drop(chance: $1.number("p")))
        },
    ]
}

/// `ipc.<kind>`: what goes wrong on the hub's IPC bus (see `SimIPCBus`).
public enum IPCFault: Equatable, Sendable {
    case down
    case restart
    case slow(latency: Duration)
    case drop(chance: Double)

    public var kind: String {
        switch self {
        case .down: "down"
        case .restart: "restart"
        case .slow: "slow"
        case .drop: "drop"
        }
    }
}

/// A component process behind the simulated bus, whatever the component's type.
protocol SimIPCProcessing: AnyObject {
    var name: String { get }
    var index: Int { get }
    /// Counts its runs: events of an earlier run are ignored.
    var run: Int { get set }
    var alive: Bool { get set }
    /// The connection its client is on, if any.
    var connectionID: Int? { get }
    var published: Int { get }
    var dropped: Int { get }
    var held: Int { get }
    func start(now: Instant)
    func connected(_ connection: Int, now: Instant)
    func disconnected(reason: String, now: Instant)
    func received(_ frame: IPCFrame, now: Instant)
    func fire(_ payload: any Sendable, now: Instant)
    func endRun(now: Instant)
}

/// The sim shell of one component process: a fresh `ComponentOverIPC` per run, its timers
/// and connection attempts on the loop, its port requests against the hub's simulated
/// Sense HAT (the same `HubPorts.perform` as the hub's own host).
final class SimIPCProcess<C: HubComponent>: SimIPCProcessing {
    let original: C
    let index: Int
    let bufferCountMax: Int
    private var random: SeededRandom
    private unowned let bus: SimIPCBus
    private var value: ComponentOverIPC<C>?
    var run = 0
    var alive = false
    private(set) var connectionID: Int?
    /// Totals over finished runs; the current run's client adds its own.
    private var publishedBefore = 0
    private var droppedBefore = 0

    init(component: C, index: Int, bufferCountMax: Int, random: SeededRandom, bus: SimIPCBus) {
        original = component
        self.index = index
        self.bufferCountMax = bufferCountMax
        self.random = random
        self.bus = bus
    }

    var name: String { original.name }
    var published: Int { publishedBefore + (value?.client.publishedCount ?? 0) }
    var dropped: Int { droppedBefore + (value?.client.droppedCount ?? 0) }
    var held: Int { value?.client.heldCount ?? 0 }

    func start(now: Instant) {
        // A process begins from its binary: the value it was first added as.
        value = ComponentOverIPC(component: original, backoff: ReconnectBackoff(random: random.split("run.\(run)")),
                                 bufferCountMax: bufferCountMax)
        perform(value!.start(now: now), now: now)
        bus.connect(process: index, run: run, at: now)
    }

    func connected(_ connection: Int, now: Instant) {
        connectionID = connection
        perform(value!.connected(now: now), now: now)
    }

    func disconnected(reason: String, now: Instant) {
        connectionID = nil
        perform(value!.disconnected(now: now, reason: reason), now: now)
    }

    func received(_ frame: IPCFrame, now: Instant) { perform(value!.received(frame, now: now), now: now) }

    func fire(_ payload: any Sendable, now: Instant) {
        guard let timer = payload as? C.Timer else { preconditionFailure("timer \(payload) is not \(name)'s") }
        perform(value!.timer(timer, now: now), now: now)
    }

    func endRun(now: Instant) {
        connectionID = nil
        guard let value else { return }
        publishedBefore += value.client.publishedCount
        droppedBefore += value.client.droppedCount + value.client.heldCount
        if value.client.heldCount > 0 {
            bus.log(name, "the process ended holding \(value.client.heldCount) publishes: lost with it (counted as dropped)", now: now)
        }
        self.value = nil
    }

    private func perform(_ actions: [ComponentOverIPC<C>.Action], now: Instant) {
        guard let ports = bus.node?.ports else { preconditionFailure("a component process runs beside a hub") }
        for action in value!.performingRequests(actions, with: ports, now: now) {
            switch action {
            case .client(.send(let frame)): bus.send(frame, from: index, now: now)
            case .client(.connect(let at)): bus.connect(process: index, run: run, at: at)
            case .client(.log(let text)): bus.log(name, text, now: now)
            case .client(.close(let reason)):
                bus.log(name, reason, now: now)
                bus.close(from: index, reason: reason, now: now)
            case .client(.deliver): preconditionFailure("ComponentOverIPC hands bus messages to its component")
            case .schedule(let timer, let at): bus.schedule(timer: timer, process: index, run: run, at: at)
            case .record(let event): bus.record(event, now: now)
            case .request: preconditionFailure("performingRequests carries out every request")
            }
        }
    }
}

extension SimIPCBus {
    func log(_ component: String, _ text: String, now: Instant) {
        history.record(.componentError(component: component, error: text), at: now)
    }

    func record(_ event: HistoryEvent, now: Instant) { history.record(event, at: now) }
}
