import HubCore
import HubDrivers
import HubKernel
import HubStore
import Testing

/// The node as the supervisor's host and the bus's gatekeeper, driven by hand with
/// hand-picked instants: no standard components, two small ones written for the purpose.
@Suite("The hub node supervises its components and enforces their grants")
struct HubNodeSupervisionTests {
    static let t0 = Instant(secondsSinceEpoch: 1_000)

    /// Publishes reading n (temperature n) every second on `dt/local/sensor/dev`, and at
    /// each tick also once on every topic in `extra`.
    struct Ticker: HubComponent {
        enum Timer: Sendable { case tick }
        var name = "ticker"
        var extra: [Topic] = []
        var subscriptions: [TopicFilter] = []
        var publications: [TopicFilter] { ["dt/local/sensor/dev"] + extra.map { TopicFilter(stringLiteral: $0.name) } }
        var count = 0

        mutating func handle(_ event: ComponentEvent<Timer>, now: Instant) -> [ComponentAction<Timer>] {
            switch event {
            case .start: return [.schedule(.tick, at: now + .seconds(1))]
            case .timer(.tick):
                count += 1
                let reading = BusMessage.reading(Reading(timestamp: now, device: "dev", values: ChannelValues([(.temperature, Double(count))])))
                return [.publish(.sensorReading("dev"), reading)] + extra.map { .publish($0, reading) } + [.schedule(.tick, at: now + .seconds(1))]
            default: return []
            }
        }
    }

    /// Remembers the temperature of every reading it hears, in order.
    struct Listener: HubComponent {
        enum Timer: Sendable { case none }
        var name = "listener"
        var subscriptions: [TopicFilter] = ["dt/local/sensor/+"]
        var publications: [TopicFilter] { [] }
        var heard: [Double] = []

        mutating func handle(_ event: ComponentEvent<Timer>, now: Instant) -> [ComponentAction<Timer>] {
            if case .message(_, .reading(let reading)) = event { heard.append(reading.values[.temperature] ?? .nan) }
            return []
        }
    }

    final class Timers: TimerPort {
        var scheduled: [(HubTimer, Instant)] = []
        func schedule(_ timer: HubTimer, at: Instant) { scheduled.append((timer, at)) }
    }

    final class History: HistorySink {
        var events: [HistoryEvent] = []
        func record(_ event: HistoryEvent, at time: Instant) { events.append(event) }
    }

    final class Cloud: CloudPort {
        func send(_ message: CloudMessage, at: Instant) {}
    }

    static func recipe(_ name: String, publish: [TopicFilter] = [], subscribe: [TopicFilter] = [], after: [String] = [],
                       queue: Int = 1_000, rate: Double = 50) -> ComponentRecipe {
        ComponentRecipe(name: name, version: .init(1, 0, 0),
                        dependencies: after.map { .init(name: $0, versions: VersionRange(caret: .init(1, 0, 0))) },
                        lifecycle: .builtin(name), access: AccessPolicy(publish: publish, subscribe: subscribe, queueCountMax: queue, publishRateMax: rate))
    }

    /// A node with a ticker and a listener (the ticker starts after the listener).
    struct Rig {
        let node: HubNode
        let timers = Timers()
        let history = History()
        var now = HubNodeSupervisionTests.t0

        init(ticker: Ticker = Ticker(), tickerRecipe: ComponentRecipe? = nil, listenerRecipe: ComponentRecipe? = nil) throws {
            let config = HubConfig(thing: "hub", devices: [])
            let ports = HubPorts(sensorKits: [], display: nil, cloud: Cloud(), outbox: try SQLiteOutboxStore(path: nil), timers: timers, history: history)
            node = HubNode(config: config, ports: ports, components: [])
            node.add(ticker, recipe: tickerRecipe ?? HubNodeSupervisionTests.recipe("ticker", publish: ["dt/local/sensor/dev"], after: ["listener"]))
            node.add(Listener(), recipe: listenerRecipe ?? HubNodeSupervisionTests.recipe("listener", subscribe: ["dt/local/sensor/+"]))
        }

        /// Fires timers in deadline order (ties in the order scheduled) up to `until`.
        mutating func advance(until: Instant) {
            while let next = timers.scheduled.indices.filter({ timers.scheduled[$0].1 <= until }).min(by: { timers.scheduled[$0].1 < timers.scheduled[$1].1 }) {
                let (timer, at) = timers.scheduled.remove(at: next)
                now = at
                node.fire(timer, now: at)
            }
            now = until
        }

        var heard: [Double] { node.component(Listener.self)?.heard ?? [] }
        var states: [String] {
            history.events.compactMap { if case .componentState(let c, let from, let to, _) = $0 { "\(c) \(from)→\(to)" } else { nil } }
        }
        var refusals: [HistoryEvent] { history.events.filter { if case .busRefused = $0 { true } else { false } } }
        var drops: Int { history.events.filter { if case .busDropped = $0 { true } else { false } }.count }
    }

    @Test("components start after their dependencies and every reading reaches the listener")
    func bootOrder() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        #expect(rig.states == ["listener waiting→starting", "listener starting→running", "ticker waiting→starting", "ticker starting→running"])
        rig.advance(until: Self.t0 + .seconds(10))
        #expect(rig.heard == (1...10).map(Double.init))
        #expect(rig.node.state(of: "ticker") == .running)
    }

    @Test("a publish outside the recipe's grants is refused, recorded and never delivered")
    func unauthorisedPublish() throws {
        let ticker = Ticker(extra: ["dt/local/sensor/other", "hbs/hub/deployments"])
        var rig = try Rig(ticker: ticker)
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(3))
        #expect(rig.heard == [1, 2, 3], "only the granted topic's readings arrive")
        #expect(rig.node.busRefusedCount == 6)
        #expect(rig.refusals.first == .busRefused(component: "ticker", operation: "publish", topic: "dt/local/sensor/other",
                                                   reason: "not granted by ticker@1.0.0", count: 1))
    }

    @Test("a subscription outside the grants is refused at boot, and a component without a recipe gets nothing")
    func denyByDefault() throws {
        var rig = try Rig(listenerRecipe: Self.recipe("listener", subscribe: ["dt/local/sensor/hvac"]))
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(3))
        #expect(rig.heard.isEmpty)
        #expect(rig.refusals == [.busRefused(component: "listener", operation: "subscribe", topic: "dt/local/sensor/+", reason: "not granted by listener@1.0.0", count: 1)])

        let history = History()
        let node = HubNode(config: HubConfig(thing: "hub", devices: []),
                           ports: HubPorts(sensorKits: [], display: nil, cloud: Cloud(), outbox: try SQLiteOutboxStore(path: nil), timers: Timers(), history: history),
                           components: [Listener()])
        node.boot(now: Self.t0)
        #expect(node.busRefusedCount == 1, "no recipe, no grants")
    }

    @Test("a component that floods is held to its publish rate: ten seconds' worth at once, then the rate")
    func flood() throws {
        var rig = try Rig(tickerRecipe: Self.recipe("ticker", publish: ["dt/local/sensor/dev"], after: ["listener"], rate: 0.5))
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(40))
        // 5 tokens at the first tick, and one more every 2 s after it: 5 + 39 × 0.5 → 24 of 40 ticks.
        #expect(rig.heard.count == 24)
        #expect(rig.node.busRefusedCount == 16)
        #expect(rig.refusals.allSatisfy { if case .busRefused(_, _, _, let reason, _) = $0 { reason == "over ticker@1.0.0's publish rate of 0.5/s" } else { false } })
        // Refusals of one kind within a minute are recorded together; every one is counted.
        rig.node.flushRefusals(now: rig.now)
        #expect(rig.refusals.reduce(0) { if case .busRefused(_, _, _, _, let count) = $1 { $0 + count } else { $0 } } == 16)
        #expect(rig.refusals.count == 2)
    }

    @Test("a crashed listener misses nothing: the bus queues its readings and the restarted run gets them in order")
    func crashAndRestart() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(5))
        rig.node.crash("listener", reason: "killed", now: rig.now)
        #expect(rig.node.state(of: "listener") == .errored)
        rig.advance(until: Self.t0 + .seconds(5.5))
        #expect(rig.node.state(of: "listener") == .errored)
        rig.advance(until: Self.t0 + .seconds(12))
        #expect(rig.node.state(of: "listener") == .running)
        // The restarted run starts from the pristine value: it heard 6 (queued while down) onwards.
        #expect(rig.heard == (6...12).map(Double.init))
        #expect(rig.node.state(of: "ticker") == .running, "a crash never takes the others down")
        #expect(rig.states.suffix(3) == ["listener running→errored", "listener errored→starting", "listener starting→running"])
    }

    @Test("a hung component misses its probe, is restarted, and its queue overflow is counted")
    func hangAndOverflow() throws {
        var rig = try Rig(listenerRecipe: Self.recipe("listener", subscribe: ["dt/local/sensor/+"], queue: 8))
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(29))
        rig.node.hang("listener", true)
        // The probe at 30 s goes unanswered; its deadline at 40 s terminates the run; restart 1 s later.
        rig.advance(until: Self.t0 + .seconds(40.5))
        #expect(rig.node.state(of: "listener") == .errored)
        rig.advance(until: Self.t0 + .seconds(45))
        #expect(rig.node.state(of: "listener") == .running)
        // Readings 30...40 waited in a queue of 8: the three oldest were dropped and counted.
        #expect(rig.heard == (33...45).map(Double.init))
        #expect(rig.drops == 3 && rig.node.busDroppedCount == 3)
        #expect(rig.states.contains("listener running→errored"))
    }

    @Test("a component that crashes at every start is broken after three failures, and the others go on")
    func crashLoop() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        rig.node.crashAtStart("listener", true)
        rig.node.crash("listener", reason: "killed", now: Self.t0 + .seconds(1))
        rig.advance(until: Self.t0 + .seconds(60))
        #expect(rig.node.state(of: "listener") == .broken)
        #expect(rig.node.state(of: "ticker") == .running)
        #expect(rig.node.component(Ticker.self)?.count == 60)
    }

    @Test("timers a crashed run set never reach the restarted run")
    func staleTimers() throws {
        var rig = try Rig()
        rig.node.boot(now: Self.t0)
        rig.advance(until: Self.t0 + .seconds(3))
        rig.node.crash("ticker", reason: "killed", now: rig.now)
        rig.advance(until: Self.t0 + .seconds(10))
        // The old run's tick at 4 s is void; the new run starts at 4 s (1 s backoff) and ticks from 5 s with count 1.
        #expect(rig.heard == [1, 2, 3, 1, 2, 3, 4, 5, 6])
    }
}
