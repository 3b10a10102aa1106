import Foundation
import HubCore
import HubKernel
import HubSim
import HubStore

/// One hub of a running fleet: its simulation and the deployment statuses its cloud
/// received since the cloud last looked.
final class FleetHub {
    let simulation: Simulation
    /// Statuses received during the current epoch, in arrival order.
    var statuses: [(at: Instant, status: DeploymentStatus)] = []

    init(setup: SimulationSetup, log: EventLogWriter?) {
        simulation = Simulation(setup: setup, recorder: HistoryRecorder(log: log, keepsEntries: false))
        let statusTopic = Topic.cloudDeploymentStatus(setup.hub.thing).name
        simulation.cloud.onMessage = { [unowned self] message, time in
            guard message.topic.name == statusTopic, let status = DeploymentStatus.parse(message.payload) else { return }
            statuses.append((time, status))
        }
    }

    /// The cloud publishes `spec` to this hub: its artifacts into the hub's bucket, its document through the broker.
    func publish(_ spec: DeploymentSpec, now: Instant) { simulation.publish(spec, at: now) }
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
        let readings = hubs.reduce(0) { $0 + $1.hub.simulation.readingsPublished }
        let cloudMessages = hubs.reduce(0) { $0 + $1.hub.simulation.cloud.receivedCount }
        return FleetOutcome(fleet: fleet, controller: cloud?.controller, readings: readings, cloudMessages: cloudMessages,
                            wallSeconds: (clock.now - began).secondsValue)
    }

    /// The deployment that restores what the fleet ran before `rollout`: each component it
    /// names at its built-in recipe's version, each device it gives a model at the fleet's
    /// own package (republished under its own version); a configuration change cannot be
    /// undone this way, so a rollout that makes one states its `rollback_deployment`.
    public static func rollbackSpec(_ fleet: Fleet, rollout: Fleet.Rollout) -> DeploymentSpec {
        if let given = rollout.rollbackDeployment { return given }
        var spec = DeploymentSpec(id: rollout.deploymentID + "-rollback", healthWindow: rollout.deployment.healthWindow)
        for (name, _) in rollout.deployment.components {
            if let recipe = BuiltinRecipes.recipe(named: name) { spec.components.append((name, recipe.version)) }
        }
        for (device, _, _) in rollout.deployment.models {
            guard let appliance = fleet.appliances.first(where: { $0.id == device }), case .package(let package) = appliance.detector,
                  let version = try? SemanticVersion(parsing: package.manifest.version),
                  let files = try? ModelPackageFiles.read(directory: appliance.modelSource) else { continue }
            spec.models.append((device: device, version: version, package: files))
        }
        return spec
    }
}

/// The fleet's cloud between epochs: the controller, its timers, and the documents it sends.
struct FleetCloud {
    private(set) var controller: RolloutController
    private let startAt: Instant
    private var started = false
    private var timers: [(at: Instant, timer: RolloutController.Timer)] = []
    private let fleet: Fleet
    private let rollout: Fleet.Rollout
    private let rollback: DeploymentSpec

    init(fleet: Fleet, rollout: Fleet.Rollout) {
        guard let plan = fleet.plan() else { preconditionFailure("a rollout has a plan") }
        controller = RolloutController(plan: plan)
        startAt = fleet.start + rollout.at
        self.fleet = fleet
        self.rollout = rollout
        rollback = FleetRunner.rollbackSpec(fleet, rollout: rollout)
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
            // The rollout's faults hit their share of hubs from now on (a build that fails on some hardware).
            for (number, fault) in rollout.faults.enumerated() {
                for (index, hub) in hubs.enumerated() where fleet.isHit(hub: index, fault: number) {
                    hub.simulation.world.apply(ScheduledFault(at: rollout.at, duration: nil, fault: fault.fault), active: true, now: now)
                }
            }
            perform(controller.handle(.start, now: now), hubs: hubs, now: now)
        }
    }

    private mutating func perform(_ actions: [RolloutController.Action], hubs: [FleetHub], now: Instant) {
        for action in actions {
            switch action {
            case .deploy(let targets):
                for hub in targets { hubs[hub].publish(rollout.deployment, now: now) }
            case .rollback(let targets):
                for hub in targets { hubs[hub].publish(rollback, now: now) }
            case .schedule(let timer, let at):
                timers.append((at, timer))
            case .waveResult:
                break
            }
        }
    }
}
