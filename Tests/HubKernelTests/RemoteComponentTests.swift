import HubCore
import HubInference
import HubKernel
import HubStore
import Testing

/// A component in another process, reached over IPC: the real node and the real
/// `IPCClient` exchange frames through an in-memory port, with hand-picked instants —
/// the bus server's connection can be cut and restored at will.
@Suite("Components over IPC")
struct RemoteComponentTests {
    typealias Support = HubNodeSupervisionTests
    static let t0 = Support.t0

    /// The bus server's side in memory: frames for each session, and sessions closed.
    final class MemoryIPC: IPCPort {
        var outbox: [(session: Int, frame: IPCFrame)] = []
        var closed: [(session: Int, reason: String)] = []
        func send(_ frame: IPCFrame, session: Int) { outbox.append((session, frame)) }
        func close(session: Int, reason: String) { closed.append((session, reason)) }
    }

    /// A hub with a ticker (in-process, readings 1, 2, … on `dt/local/sensor/dev` every
    /// second), a listener (in-process, hears `dt/local/sensor/+`) and `weather`, a remote
    /// component, connected through an `IPCClient`.
    struct Rig {
        let node: HubNode
        let timers = Support.Timers()
        let history = Support.History()
        let ipc = MemoryIPC()
        var client: IPCClient
        var session = 0
        var connected = false
        /// What the remote component received, as temperatures.
        var received: [Double] = []
        var now = RemoteComponentTests.t0

        init(queue: Int = 1_000) throws {
            let ports = HubPorts(sensorKits: [], display: nil, cloud: Support.Cloud(), outbox: try SQLiteOutboxStore(path: nil),
                                 timers: timers, history: history, ipc: ipc)
            node = HubNode(config: HubConfig(thing: "hub", devices: []), ports: ports, components: [])
            node.add(Support.Listener(), recipe: Support.recipe("listener", subscribe: ["dt/local/sensor/+"]))
            node.add(Support.Ticker(), recipe: Support.recipe("ticker", publish: ["dt/local/sensor/dev"], after: ["listener"]))
            node.addRemote(recipe: ComponentRecipe(
                name: "weather", version: .init(1, 0, 0), lifecycle: .external(arguments: ["python3", "weather.py"]),
                access: AccessPolicy(publish: ["dt/local/sensor/weather"], subscribe: ["dt/local/sensor/dev"], queueCountMax: queue)))
            client = IPCClient(component: "weather", subscriptions: ["dt/local/sensor/dev"],
                               backoff: ReconnectBackoff(random: SeededRandom(seed: 2)))
        }

        /// A rig booted with the component connected, lost at `cut` (after the node's timers up to then).
        static func connected(until cut: Duration) throws -> Rig {
            var rig = try Rig()
            rig.node.boot(now: RemoteComponentTests.t0)
            rig.connect()
            rig.advance(until: RemoteComponentTests.t0 + cut)
            rig.cut()
            return rig
        }

        /// Carries the client's actions to the node and the node's frames back until both are quiet.
        mutating func pump(_ actions: [IPCClient.Action]) {
            var pending = actions
            while true {
                for action in pending {
                    switch action {
                    case .send(let frame) where connected: node.ipcReceived(frame, session: session, now: now)
                    case .deliver(_, _, .reading(let reading)): received.append(reading.values[.temperature] ?? .nan)
                    default: break
                    }
                }
                pending = []
                let frames = ipc.outbox.filter { $0.session == session }
                ipc.outbox.removeAll()
                if ipc.closed.contains(where: { $0.session == session }) { connected = false }
                guard connected, !frames.isEmpty else { return }
                for (_, frame) in frames { pending += client.received(frame, now: now) }
            }
        }

        mutating func connect() {
            session += 1
            connected = true
            pump(client.connected(now: now))
        }

        /// The connection drops at both ends (the bus server crashed or restarted).
        mutating func cut() {
            connected = false
            node.ipcClosed(session: session, now: now)
            _ = client.disconnected(now: now, reason: "bus server gone")
        }

        mutating func publish(_ n: Int, on topic: Topic = .sensorReading("weather")) {
            let reading = BusMessage.reading(Reading(timestamp: now, device: "weather", values: ChannelValues([(.temperature, Double(n))])))
            pump(client.publish(reading, on: topic, now: now))
        }

        /// Fires the node's timers up to `until`; probes are carried to the client if connected.
        mutating func advance(until: Instant) {
            while let next = timers.scheduled.indices.filter({ timers.scheduled[$0].1 <= until }).min(by: { timers.scheduled[$0].1 < timers.scheduled[$1].1 }) {
                let (timer, at) = timers.scheduled.remove(at: next)
                now = at
                node.fire(timer, now: at)
                pump([])
            }
            now = until
        }

        /// Fires the node's timers up to `until` without the client reading: what the node
        /// writes stays in the socket (`ipc.outbox`), to be lost with the connection.
        mutating func advanceUnread(until: Instant) {
            while let next = timers.scheduled.indices.filter({ timers.scheduled[$0].1 <= until }).min(by: { timers.scheduled[$0].1 < timers.scheduled[$1].1 }) {
                let (timer, at) = timers.scheduled.remove(at: next)
                now = at
                node.fire(timer, now: at)
            }
            now = until
        }

        var heardFromWeather: [Double] {
            history.events.compactMap { event -> Double? in
                if case .busPublish(_, "weather", .reading(let reading)) = event { reading.values[.temperature] } else { nil }
            }
        }
    }

    @Test("the component is started when it says hello, and publishes and subscribes through the real bus")
    func connectAndTalk() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        #expect(rig.node.state(of: "weather") == .starting)
        rig.connect()
        #expect(rig.node.state(of: "weather") == .running)
        #expect(rig.client.state == .ready(session: 1))
        for n in 1...3 { rig.publish(n) }
        #expect(rig.heardFromWeather == [1, 2, 3])
        #expect(rig.node.component(Support.Listener.self)?.heard == [1, 2, 3])
        rig.advance(until: Self.t0 + .seconds(5))
        #expect(rig.received == [1, 2, 3, 4, 5], "the ticker's readings reach the remote subscriber")
        rig.publish(9, on: "dt/local/sensor/hvac")
        #expect(rig.client.refusedCount == 1)
        #expect(rig.node.busRefusedCount == 1)
    }

    @Test("messages written to a connection that breaks before the component confirmed them (by answering a later probe) are delivered again: none missed")
    func unconfirmedDeliveredAgain() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        rig.connect()
        rig.advance(until: Self.t0 + .seconds(45))
        let probed = rig.received.count
        // Written to the socket, never read: the connection breaks with them in it.
        rig.advanceUnread(until: Self.t0 + .seconds(50))
        rig.ipc.outbox.removeAll()
        rig.cut()
        rig.connect()
        let all = (1...50).map(Double.init)
        #expect(Set(rig.received) == Set(all), "every reading the bus accepted reached the component")
        // The readings since the last answered probe (at 30 s) come again, in order, after the break.
        let again = Array(rig.received[probed...])
        #expect(again.first.map { $0 > 25 && $0 <= 31 } == true, "\(again)")
        #expect(again == (Int(again[0])...50).map(Double.init))
        #expect(rig.node.busDroppedCount == 0)
    }

    @Test("the bus server goes away for 20 s: both sides hold their messages and deliver them in order when it is back")
    func ipcLoss() throws {
        var rig = try Rig.connected(until: .seconds(3))
        for n in 10...14 { rig.publish(n) }
        rig.advance(until: Self.t0 + .seconds(23))
        #expect(rig.received == [1, 2, 3])
        rig.connect()
        #expect(rig.received == [1, 2, 3] + Array(1...23).map(Double.init),
                "queued on the hub's side, delivered in order, none lost; the three no probe had confirmed come again first")
        #expect(rig.heardFromWeather == [10, 11, 12, 13, 14], "held on the component's side, flushed in order")
        #expect(rig.node.state(of: "weather") == .running, "20 s without a connection is within the probe's patience")
        #expect(rig.node.busDroppedCount == 0 && rig.client.droppedCount == 0)
    }

    @Test("a component that stays away misses its probe, is restarted, and must say hello again; its queue overflow is counted")
    func awayTooLong() throws {
        var rig = try Rig(queue: 20)
        rig.node.boot(now: Self.t0)
        rig.connect()
        rig.cut()
        // Probe at 30 s goes nowhere; its deadline at 40 s fails the component; restart at 41 s.
        rig.advance(until: Self.t0 + .seconds(40.5))
        #expect(rig.node.state(of: "weather") == .errored)
        rig.advance(until: Self.t0 + .seconds(45))
        #expect(rig.node.state(of: "weather") == .starting)
        rig.connect()
        #expect(rig.node.state(of: "weather") == .running)
        #expect(rig.received == Array(26...45).map(Double.init), "the newest 20 waited; the 25 before were dropped")
        #expect(rig.node.busDroppedCount == 25)
    }

    @Test("a probe due while the connection is lost is asked again on the next connection, so a short loss is no failure")
    func probeAskedAgain() throws {
        var rig = try Rig.connected(until: .seconds(29))
        // The probe at 30 s finds no connection; its deadline is 40 s.
        rig.advance(until: Self.t0 + .seconds(31))
        rig.connect()
        rig.advance(until: Self.t0 + .seconds(45))
        #expect(rig.node.state(of: "weather") == .running, "answered on the new connection")
        #expect(!rig.history.events.contains { if case .componentState("weather", _, "errored", _) = $0 { true } else { false } })
    }

    @Test("while the bus server is down, and a minute after, a component without a connection is excused its probes; later it is not")
    func excusedWhileServerDown() throws {
        var rig = try Rig.connected(until: .seconds(25))
        rig.node.complete(.ipcServer(up: false), now: rig.now)
        rig.advance(until: Self.t0 + .seconds(625))
        #expect(rig.node.state(of: "weather") == .running, "ten minutes of probes excused: the server was away, not the component")
        rig.node.complete(.ipcServer(up: true), now: rig.now)
        rig.advance(until: Self.t0 + .seconds(680))
        #expect(rig.node.state(of: "weather") == .running, "within the reconnect grace")
        rig.advance(until: Self.t0 + .seconds(740))
        let failures = rig.history.events.filter { if case .componentState("weather", _, "errored", let reason) = $0 { reason.hasPrefix("no answer") } else { false } }
        #expect(failures.count == 1, "past the grace, a component that does not come back fails its probe")
        #expect(rig.node.state(of: "weather") == .starting, "and is started again")
    }

    @Test("a hello from a stranger, a second connection, or a frame before hello is refused and closed")
    func refusals() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        rig.node.ipcReceived(.hello(component: "intruder", versions: [1]), session: 50, now: Self.t0)
        #expect(rig.ipc.outbox.last?.frame == .refused(id: nil, reason: "no component 'intruder' runs over IPC here (those that do: weather)"))
        rig.node.ipcReceived(.publish(id: 1, topic: .sensorReading("weather"), message: .reading(Reading(timestamp: Self.t0, device: "weather", values: ChannelValues()))), session: 51, now: Self.t0)
        #expect(rig.ipc.closed.last?.reason == "the first frame must be hello, not publish")
        rig.connect()
        rig.node.ipcReceived(.hello(component: "weather", versions: [1]), session: 52, now: Self.t0)
        #expect(rig.ipc.outbox.last?.frame == .refused(id: nil, reason: "weather cannot connect now: it is already connected"))
        rig.node.ipcReceived(.hello(component: "weather", versions: [7]), session: 53, now: Self.t0)
        #expect(rig.ipc.closed.contains { $0.session == 53 })
        #expect(rig.heardFromWeather.isEmpty)
    }
}

/// A built-in component in a process of its own runs the same code: the inference
/// component behind `ComponentOverIPC`, fed over IPC by the node, publishes exactly what
/// it publishes in the hub process.
@Suite("A built-in component over IPC")
struct ComponentOverIPCTests {
    typealias Support = HubNodeSupervisionTests

    static func inference() -> InferenceComponent {
        InferenceComponent(devices: ["dev"], detectors: [RollingZScoreDetector(windowCount: 5)], debounceK: 1, debounceN: 1)
    }

    @Test("inference over IPC publishes what it publishes in the hub process, in order")
    func sameCode() throws {
        let timers = Support.Timers(), history = Support.History(), ipc = RemoteComponentTests.MemoryIPC()
        let ports = HubPorts(sensorKits: [], display: nil, cloud: Support.Cloud(), outbox: try SQLiteOutboxStore(path: nil),
                             timers: timers, history: history, ipc: ipc)
        let node = HubNode(config: HubConfig(thing: "hub", devices: []), ports: ports, components: [])
        node.addRemote(recipe: BuiltinRecipes.inference)
        node.add(Support.Ticker(), recipe: Support.recipe("ticker", publish: ["dt/local/sensor/dev"], after: ["inference"]))
        var remote = ComponentOverIPC(component: Self.inference(), backoff: ReconnectBackoff(random: SeededRandom(seed: 3)))
        var now = Support.t0
        node.boot(now: now)
        // The shell: client frames to the node, the node's frames back, until both are quiet.
        func pump(_ actions: [ComponentOverIPC<InferenceComponent>.Action]) {
            var pending = actions
            while !pending.isEmpty || !ipc.outbox.isEmpty {
                for case .client(.send(let frame)) in pending { node.ipcReceived(frame, session: 1, now: now) }
                pending = []
                let frames = ipc.outbox
                ipc.outbox.removeAll()
                for (_, frame) in frames { pending += remote.received(frame, now: now) }
            }
        }
        pump(remote.start(now: now) + remote.connected(now: now))
        #expect(node.state(of: "inference") == .running)
        for _ in 0..<40 {
            let (timer, at) = timers.scheduled.filter { $0.0.component != HubTimer.supervisor }.min { $0.1 < $1.1 }!
            timers.scheduled.removeAll { $0.1 == at && $0.0.component == timer.component }
            now = at
            node.fire(timer, now: at)
            pump([])
        }
        let overIPC = history.events.compactMap { event -> InferenceResult? in
            if case .busPublish(_, "inference", .inference(let result)) = event { result } else { nil }
        }
        // The same component in-process, handed the same readings.
        var local = Self.inference()
        var expected: [InferenceResult] = []
        for case .busPublish(let topic, "ticker", let message) in history.events {
            for case .publish(_, .inference(let result)) in local.handle(.message(topic, message), now: now) { expected.append(result) }
        }
        #expect(overIPC.count >= 30)
        #expect(overIPC.map(\.score) == expected.map(\.score))
        #expect(overIPC.map(\.timestamp) == expected.map(\.timestamp))
    }
}
