import HubCore
import HubDrivers
import HubKernel
import HubStore
import Testing

/// The node is only a host: a component it has never heard of plugs in by its shape.
@Suite("The hub node hosts components by their shape")
struct HubNodeHostTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    final class FixedThermometer: SensorDriver {
        let chip = "HTS221"
        func initialise() throws(DriverError) -> String { "fixed" }
        func sample() throws(DriverError) -> ChannelValues? { ChannelValues([(.temperature, 21.5), (.humidity, 40)]) }
    }

    final class Timers: TimerPort {
        var scheduled: [(HubTimer, Instant)] = []
        func schedule(_ timer: HubTimer, at: Instant) { scheduled.append((timer, at)) }
    }

    final class Cloud: CloudPort {
        var sent: [CloudMessage] = []
        func send(_ message: CloudMessage, at: Instant) { sent.append(message) }
    }

    final class History: HistorySink {
        var events: [HistoryEvent] = []
        func record(_ event: HistoryEvent, at time: Instant) { events.append(event) }
    }

    /// A component nobody wrote the node for: after the first reading it waits five
    /// seconds on its own timer and reports itself healthy.
    struct Watchdog: HubComponent {
        enum Timer: Sendable { case report(device: DeviceID) }
        var name: String { "watchdog" }
        var subscriptions: [TopicFilter] { ["dt/local/sensor/+"] }
        var publications: [TopicFilter] { ["hbs/health/watchdog"] }
        var readings = 0

        mutating func handle(_ event: ComponentEvent<Timer>, now: Instant) -> [ComponentAction<Timer>] {
            switch event {
            case .message(_, .reading(let reading)):
                readings += 1
                return readings == 1 ? [.schedule(.report(device: reading.device), at: now + .seconds(5))] : []
            case .timer(.report(let device)):
                return [.publish(.health("watchdog"), .health(HealthReport(timestamp: now, component: "watchdog", device: device,
                                                                           state: .ok, detail: "\(readings) readings seen")))]
            default:
                return []
            }
        }
    }

    @Test("an added component hears its topics, keeps its own timers, and what it publishes reaches the others")
    func addedComponent() throws {
        let config = HubConfig(thing: "hub", devices: [.init(id: "hvac", kind: .furnace, detector: .none)])
        let timers = Timers(), cloud = Cloud(), history = History()
        let ports = HubPorts(sensorKits: [[FixedThermometer()]], display: nil, cloud: cloud, outbox: try SQLiteOutboxStore(path: nil), timers: timers, history: history)
        let node = HubNode(config: config, ports: ports, components: StandardComponents.make(config: config, ports: ports))
        node.add(Watchdog(), recipe: ComponentRecipe(name: "watchdog", version: .init(1, 0, 0), lifecycle: .builtin("watchdog"),
                                                     access: AccessPolicy(publish: ["hbs/health/watchdog"], subscribe: ["dt/local/sensor/+"])))
        node.boot(now: t0)
        // Fire timers in deadline order until the watchdog has reported.
        var now = t0
        for _ in 0..<20 {
            timers.scheduled.sort { $0.1 < $1.1 }
            guard !timers.scheduled.isEmpty else { break }
            let (timer, at) = timers.scheduled.removeFirst()
            now = at
            node.fire(timer, now: now)
            if cloud.sent.contains(where: { $0.topic == .cloudHealth("hub") }) { break }
        }
        #expect(node.component(Watchdog.self)?.readings ?? 0 >= 1)
        let report = history.events.compactMap { event -> (String, HealthReport)? in
            if case .busPublish(_, let from, .health(let report)) = event { (from, report) } else { nil }
        }.first
        #expect(report?.0 == "watchdog")
        #expect(report?.1.detail.hasSuffix("readings seen") == true)
        #expect(cloud.sent.contains { $0.topic == .cloudHealth("hub") }, "the uplink forwarded the new component's report")
        #expect(node.readingsPublished >= 1)
    }
}
