import Foundation
import HubCore
import HubKernel
import HubSim
import HubStore

/// One hub of a running fleet: its simulation and the deployment statuses its cloud
/// received since the cloud last looked.
final class FleetHub {
    let simulation: Simulation
    let deploymentsTopic: String
    /// Statuses received during the current epoch, in arrival order.
    var statuses: [(at: Instant, status: DeploymentStatus)] = []

    init(setup: SimulationSetup, log: EventLogWriter?) {
        simulation = Simulation(setup: setup, recorder: HistoryRecorder(log: log, keepsEntries: false))
        deploymentsTopic = "hbs/\(setup.hub.thing)/deployments"
        let statusTopic = deploymentsTopic + "/status"
        simulation.cloud.onMessage = { [unowned self] message, time in
            guard message.topic.name == statusTopic, let status = DeploymentStatus.parse(message.payload) else { return }
            statuses.append((time, status))
        }
    }
}

/// A hub handed to the worker that advances it.
struct FleetHubBox: @unchecked Sendable {
    // Safe: in each parallel step every hub is touched by exactly one worker (the one that
    // claimed its index), and the runner touches hubs only between steps, after
    // `ParallelMap` has joined its workers. Hubs share nothing mutable: each has its own
    // world, scheduler, history and outbox; model packages are immutable `Sendable` values.
    let hub: FleetHub
}

/// Runs a `Fleet`: N simulations in lockstep epochs, and the cloud's rollout controller
/// between them.
///
/// Why lockstep: the cloud must see statuses and send deployments at instants that do not
/// depend on which thread ran which hub. Within an epoch hubs are independent and run on
/// all cores; at each boundary (every `epoch`, the rollout's start and each controller
/// timer) the runner collects the statuses the hubs' brokers received, in (instant, hub)
/// order, feeds them and the due timers to the `RolloutController`, and delivers what it
/// sends. So a run is the same, byte for byte, on one worker or many.
public enum FleetRunner {
    /// Runs `fleet` on `workers` threads; `eventLogDirectory` gets each hub's history as
    /// `hub-<i>.jsonl`. `progress` hears each epoch boundary's instant.
    public static func run(_ fleet: Fleet, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                           eventLogDirectory: String? = nil, progress: ((Instant) -> Void)? = nil) throws(StoreError) -> FleetOutcome {
        let clock = ContinuousClock()
        let began = clock.now
        let made = ParallelMap.run(count: fleet.hubs, workers: workers) { index -> Result<FleetHubBox, StoreError> in
            do throws(StoreError) {
                let log = try eventLogDirectory.map { (directory) throws(StoreError) in try EventLogWriter(path: "\(directory)/hub-\(index).jsonl") }
                return .success(FleetHubBox(hub: FleetHub(setup: fleet.simulationSetup(hub: index), log: log)))
            } catch {
                return .failure(error)
            }
        }
        var hubs: [FleetHubBox] = []
        for result in made {
            switch result {
            case .success(let box): hubs.append(box)
            case .failure(let error): throw error
            }
        }
        func eachHub(_ body: @Sendable (FleetHub) -> Void) {
            _ = ParallelMap.run(count: hubs.count, workers: workers) { [hubs] index in body(hubs[index].hub) }
        }
        eachHub { $0.simulation.boot() }

        var cloud = fleet.rollout.map { FleetCloud(fleet: fleet, rollout: $0) }
        let end = fleet.start + fleet.duration
        var now = fleet.start
        while now < end {
            var next = min(now + fleet.epoch, end)
            if let due = cloud?.nextDeadline, due > now { next = min(next, due) }
            let target = next
            eachHub { $0.simulation.advance(until: target) }
            now = next
            progress?(now)
            cloud?.step(hubs: hubs.map(\.hub), now: now)
        }
        eachHub { $0.simulation.finish() }
        for box in hubs { try box.hub.simulation.history.finish() }
        let readings = hubs.reduce(0) { $0 + $1.hub.simulation.hub.readingsPublished }
        let cloudMessages = hubs.reduce(0) { $0 + $1.hub.simulation.cloud.receivedCount }
        return FleetOutcome(fleet: fleet, controller: cloud?.controller, readings: readings, cloudMessages: cloudMessages,
                            wallSeconds: (clock.now - began).secondsValue)
    }

    /// The document that restores what the fleet ran before `rollout`: each component the
    /// deployment names at its built-in recipe's version, each device it gives a model to
    /// at the fleet's own model; a configuration cannot be undone this way, so a rollout
    /// that changes one states its `rollback_deployment`.
    public static func rollbackDocument(_ fleet: Fleet, rollout: Fleet.Rollout) -> [String: JSONValue] {
        if let given = rollout.rollbackDeployment { return given }
        var document: [String: JSONValue] = ["deployment_id": .string(rollout.deploymentID + "-rollback")]
        if case .object(let components)? = rollout.deployment["components"] {
            var previous: [String: JSONValue] = [:]
            for name in components.keys {
                if let recipe = BuiltinRecipes.recipe(named: name) { previous[name] = .string(recipe.version.description) }
            }
            document["components"] = .object(previous)
        }
        if case .object(let models)? = rollout.deployment["models"] {
            var previous: [String: JSONValue] = [:]
            for device in models.keys {
                if let appliance = fleet.appliances.first(where: { $0.id.rawValue == device }), case .package(let package) = appliance.detector {
                    previous[device] = .string(package.manifest.identifier)
                }
            }
            document["models"] = .object(previous)
        }
        if let window = rollout.deployment["health_window_s"] { document["health_window_s"] = window }
        return document
    }

    /// A JSON object as bytes, keys sorted (so the bytes never depend on a dictionary's order).
    public static func encode(_ object: [String: JSONValue]) -> [UInt8] {
        var writer = JSONWriter()
        write(.object(object), to: &writer)
        return writer.bytes
    }

    private static func write(_ value: JSONValue, to writer: inout JSONWriter) {
        switch value {
        case .null: writer.null()
        case .bool(let flag): writer.bool(flag)
        case .number(let number): writer.double(number)
        case .string(let text): writer.string(text)
        case .array(let items):
            writer.beginArray()
            for item in items { write(item, to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for key in members.keys.sorted() {
                writer.key(key)
                write(members[key]!, to: &writer)
            }
            writer.endObject()
        }
    }
}

/// The fleet's cloud between epochs: the controller, its timers, and the documents it sends.
struct FleetCloud {
    private(set) var controller: RolloutController
    private let startAt: Instant
    private var started = false
    private var timers: [(at: Instant, timer: RolloutController.Timer)] = []
    private let deployment: [UInt8]
    private let rollback: [UInt8]

    init(fleet: Fleet, rollout: Fleet.Rollout) {
        guard let plan = fleet.plan() else { preconditionFailure("a rollout has a plan") }
        controller = RolloutController(plan: plan)
        startAt = fleet.start + rollout.at
        deployment = FleetRunner.encode(rollout.deployment)
        rollback = FleetRunner.encode(FleetRunner.rollbackDocument(fleet, rollout: rollout))
    }

    /// The next instant the cloud must act at without a status: the rollout's start or a timer.
    var nextDeadline: Instant? {
        let timer = timers.map(\.at).min()
        guard !started else { return timer }
        return timer.map { min($0, startAt) } ?? startAt
    }

    /// At an epoch boundary: statuses in (instant, hub) order, then due timers in the order
    /// set, then the start; each answer is carried out at once.
    mutating func step(hubs: [FleetHub], now: Instant) {
        var reports: [(at: Instant, hub: Int, order: Int, status: DeploymentStatus)] = []
        for (index, hub) in hubs.enumerated() {
            for (order, report) in hub.statuses.enumerated() { reports.append((report.at, index, order, report.status)) }
            hub.statuses.removeAll()
        }
        reports.sort { ($0.at, $0.hub, $0.order) < ($1.at, $1.hub, $1.order) }
        for report in reports {
            perform(controller.handle(.status(hub: report.hub, report.status), now: now), hubs: hubs, now: now)
        }
        while let index = timers.indices.first(where: { timers[$0].at <= now }) {
            let due = timers.remove(at: index)
            perform(controller.handle(.timer(due.timer), now: now), hubs: hubs, now: now)
        }
        if !started, startAt <= now {
            started = true
            perform(controller.handle(.start, now: now), hubs: hubs, now: now)
        }
    }

    private mutating func perform(_ actions: [RolloutController.Action], hubs: [FleetHub], now: Instant) {
        for action in actions {
            switch action {
            case .deploy(let targets):
                for hub in targets { hubs[hub].simulation.cloud.deliver(topic: hubs[hub].deploymentsTopic, payload: deployment, at: now) }
            case .rollback(let targets):
                for hub in targets { hubs[hub].simulation.cloud.deliver(topic: hubs[hub].deploymentsTopic, payload: rollback, at: now) }
            case .schedule(let timer, let at):
                timers.append((at, timer))
            case .waveResult:
                break
            }
        }
    }
}
