import HubCore
import HubKernel

// Fault model of the hub's components as processes (`component.<name>.<kind>`, declared in
// `SimComponentFaults.faultKinds`). The faults act on the hub's own supervisor host
// (`HubNode`), so what they test is the real supervision and the real bus:
// - `crash` (an instant): the component's current run ends now and its in-memory state is
//   lost, as a process killed by a signal; the supervisor restarts it with backoff.
// - `hang`: the current run stops taking messages, timers and health probes (a deadlock);
//   the supervisor's probe deadline ends it. The restarted run is healthy.
// - `crashloop`: while active, every start crashes at once (a bad build); after the
//   recipe's `failures_max` failures within its window the component is broken.
// - `flood`: every second the component publishes `count` health messages on its own
//   health topic (`hbs/health/<name>`), inside or outside its grants as its recipe says;
//   the bus's publish rate must hold it.
// - `publish-unauthorized`: every second it publishes once on the cloud's deployments
//   topic (`hbs/<thing>/deployments`), which no component is granted: a compromised
//   component impersonating the cloud. The bus must refuse every one.

/// Applies `component.<name>.*` faults to the hub node the simulation runs.
public final class SimComponentFaults: FaultApplying {
    /// The hub, set by the simulation once it is built (the world exists first).
    weak var node: HubNode?
    /// Schedules the next flood tick (`SimEvent.componentFlood`).
    var scheduleTick: ((Instant) -> Void)?
    /// The bus behind which some components run as simulated processes; set with `node`.
    weak var ipc: SimIPCBus?
    /// The hub's thing name, for the cloud's topics; set with `node`.
    var thing = "hub"
    /// Active floods: component, topic, messages per tick, in the order they started.
    private var floods: [(component: String, topic: Topic, count: Int)] = []
    private var ticking = false
    private var tickCount = 0

    init() {}

    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .component(let name, let kind) = fault, let node else { preconditionFailure("not a component fault: \(fault)") }
        switch kind {
        case .crash:
            guard active else { return }
            // A component over IPC is a process: killing it closes its connection and the hub hears it exit.
            if let ipc, ipc.runs(name) { ipc.kill(name, now: now) } else { node.crash(name, reason: "crashed (fault)", now: now) }
        case .hang:
            node.hang(name, active)
        case .crashloop:
            node.crashAtStart(name, active)
            if active { node.crash(name, reason: "crashed (fault)", now: now) }
        case .flood(let count):
            setFlood(name, topic: .health(name), count: count, active: active, now: now)
        case .publishUnauthorized:
            setFlood(name, topic: .cloudDeployments(thing), count: 1, active: active, now: now)
        }
    }

    private func setFlood(_ name: String, topic: Topic, count: Int, active: Bool, now: Instant) {
        floods.removeAll { $0.component == name && $0.topic == topic }
        if active { floods.append((name, topic, count)) }
        if active, !ticking {
            ticking = true
            scheduleTick?(now)
        }
    }

    /// One second of every active flood; schedules the next while any is active.
    func tick(now: Instant) {
        guard !floods.isEmpty, let node else { ticking = false; return }
        tickCount += 1
        for flood in floods {
            let report = BusMessage.health(HealthReport(timestamp: now, component: flood.component, device: nil, state: .ok, detail: "flood \(tickCount)"))
            for _ in 0..<flood.count { node.publish(as: flood.component, report, on: flood.topic, now: now) }
        }
        scheduleTick?(now + .seconds(1))
    }

    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "component", name: "crash", summary: "the component's run ends now and its memory is lost; the supervisor restarts it",
                  port: "SimComponentFaults") { target, _ in .component(name: target.component, .crash) },
        FaultKind(layer: "component", name: "hang", summary: "the run takes no message, timer or health probe until the supervisor restarts it",
                  port: "SimComponentFaults") { target, _ in .component(name: target.component, .hang) },
        FaultKind(layer: "component", name: "crashloop", summary: "every start crashes at once while active",
                  port: "SimComponentFaults") { target, _ in .component(name: target.component, .crashloop) },
        FaultKind(layer: "component", name: "flood",
                  parameters: [FaultParameter("count", .count(1...10_000), unit: "per second", default: "1000", summary: "health messages published per second")],
                  summary: "the component publishes far more than its rate allows", port: "SimComponentFaults") {
            .component(name: $0.component, .flood(count: $1.count("count")))
        },
        FaultKind(layer: "component", name: "publish-unauthorized",
                  summary: "the component publishes on the cloud's deployments topic once a second", port: "SimComponentFaults") { target, _ in
            .component(name: target.component, .publishUnauthorized)
        },
    ]
}

/// What a `component.<name>.*` fault does.
public enum ComponentFault: Equatable, Sendable {
    case crash
    case hang
    case crashloop
    case flood(count: Int)
    case publishUnauthorized

    /// Whether the fault ends the component's run (the supervisor has something to recover).
    public var endsRun: Bool {
        switch self {
        case .crash, .hang, .crashloop: true
        case .flood, .publishUnauthorized: false
        }
    }

    var kind: String {
        switch self {
        case .crash: "crash"
        case .hang: "hang"
        case .crashloop: "crashloop"
        case .flood: "flood"
        case .publishUnauthorized: "publish-unauthorized"
        }
    }
}
