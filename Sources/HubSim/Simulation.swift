import HubCore
import HubDrivers
import HubKernel
import HubStore
import HubYAML

/// Everything that determines a simulation run: same setup, same history, byte for byte.
public struct SimulationSetup: Sendable {
    public var seed: UInt64
    public var start: Instant
    public var duration: Duration
    public var hub: HubConfig
    public var faults: [ScheduledFault]
    /// Drivers read every sample twice and compare (the production setting). Off only to
    /// measure what verification costs or to show what it prevents.
    public var verifyReads = true
    /// Built-in components that run in processes of their own behind the simulated IPC bus.
    public var ipc = SimIPCSetup()
    /// The world presents a Pi with the rpi-sense overlay loaded (`hub.sensehat_kernel: bound`).
    public var senseHATKernelBound = false
    /// Record the hub's disk use (`hub.resources`) every `resourceSampleInterval` (a
    /// scenario's `resources` expectation asks for it; nil: never).
    public var resourceSampleInterval: Duration? = nil
    /// Record the readings inside each telemetry message the cloud receives (`cloud.content`).
    public var recordCloudContent = false

    /// 2026-01-15 00:00 UTC: a winter day, so the furnace works.
    public static let defaultStart = Instant(secondsSinceEpoch: 1_768_435_200)
    /// How long a `host.power-loss` without `for:` keeps the power off.
    public static let defaultPowerLoss: Duration = .seconds(30)

    public init(seed: UInt64, start: Instant = defaultStart, duration: Duration, hub: HubConfig, faults: [ScheduledFault] = []) {
        self.seed = seed
        self.start = start
        self.duration = duration
        self.hub = hub
        self.faults = faults
    }
}

/// One simulated hub in its world, run by a single-threaded discrete-event loop.
///
/// The world (`SimWorld`) gets the scheduler as its clock; the real hub (`HubNode`) gets
/// the world's simulated ports and the scheduler as its timer port. Faults on the
/// timeline become events in the same queue as the hub's timers.
public final class Simulation {
    public let setup: SimulationSetup
    public let scheduler: SimScheduler
    public let history: HistoryRecorder
    public let world: SimWorld
    /// The hub now running (a new one after each power loss).
    public private(set) var hub: HubNode
    /// The hub's disk: its outbox and deployment record outlive a power loss.
    private let outbox: SQLiteOutboxStore
    private let deploymentStore: SQLiteDeploymentStore
    /// The hub's enrolment record of its kits (on its disk: a revocation outlives a power loss).
    private var kitRecord: [KitCertificate]
    /// What hubs before a power loss counted, added to the end-of-run report.
    private var earlier = (readings: 0, depthMax: 0, kitRejected: 0)

    public var cloud: SimCloudBroker { world.cloud }
    public var display: ATtiny88Model { world.display }

    public init(setup: SimulationSetup, eventLog: EventLogWriter? = nil, recordTruth: Bool = false,
                recorder: HistoryRecorder? = nil) {
        self.setup = setup
        scheduler = SimScheduler(start: setup.start)
        history = recorder ?? HistoryRecorder(log: eventLog)
        world = SimWorld(devices: setup.hub.devices, seed: setup.seed, start: setup.start, clock: scheduler, history: history,
                         kitCertificates: setup.hub.kitCertificates)
        kitRecord = setup.hub.kitCertificates
        if recordTruth { world.recordTruth() }
        if setup.senseHATKernelBound { world.bindKernelDrivers() }
        // Edges become events, so the hub handles them from the loop like everything else;
        // a bound kernel driver hears the interrupt first, as on a Pi.
        world.gpio.onEdge { [scheduler, kernel = world.kernel] edge, now in
            kernel?.edge(edge, now: now)
            scheduler.schedule(.gpioEdge(edge), at: now)
        }
        world.cloud.scheduleAttempt = { [scheduler] at in scheduler.schedule(.cloudConnect, at: at) }
        for (index, kit) in world.mqttKits.enumerated() {
            // Kits are not in step with the hub: each starts a fixed share into its interval.
            scheduler.schedule(.kitPoll(index), at: setup.start + .nanoseconds(kit.interval.nanoseconds * Int64(index + 1) / Int64(world.mqttKits.count + 1)))
        }
        do {
            outbox = try SQLiteOutboxStore(path: nil)
            deploymentStore = try SQLiteDeploymentStore(path: nil)
        } catch {
            preconditionFailure("in-memory SQLite stores: \(error)")
        }
        hub = Self.makeHub(setup: setup, kitRecord: kitRecord, world: world, scheduler: scheduler, history: history, outbox: outbox, deploymentStore: deploymentStore)
        world.ipc.completions = scheduler
        world.ipc.schedule = { [scheduler] event, at in scheduler.schedule(.ipc(event), at: at) }
        world.components.ipc = world.ipc
        world.components.thing = setup.hub.thing
        world.components.scheduleTick = { [scheduler] at in scheduler.schedule(.componentFlood, at: at) }
        for (index, fault) in setup.faults.enumerated() {
            scheduler.schedule(.faultStart(index), at: setup.start + fault.at)
            if let duration = fault.duration {
                scheduler.schedule(.faultEnd(index), at: setup.start + fault.at + duration)
            }
        }
        if let interval = setup.resourceSampleInterval { scheduler.schedule(.resourceSample, at: setup.start + interval) }
        world.cloud.recordsContent = setup.recordCloudContent
    }

    public var end: Instant { setup.start + setup.duration }

    private static func makeHub(setup: SimulationSetup, kitRecord: [KitCertificate], world: SimWorld, scheduler: SimScheduler, history: HistoryRecorder,
                                outbox: SQLiteOutboxStore, deploymentStore: SQLiteDeploymentStore) -> HubNode {
        var ports = world.hubPorts(timers: scheduler, completions: scheduler, history: history, verifyReads: setup.verifyReads, outbox: outbox)
        ports.deployments = DeploymentPorts(store: deploymentStore, artifacts: world.deployments, host: world.deployments,
                                            readRecipe: { bytes, file in try RecipeFile.parse(bytes: bytes, file: file) })
        if !setup.ipc.components.isEmpty {
            ports.ipc = world.ipc
            ports.processes = world.ipc
        }
        var config = setup.hub
        config.kitCertificates = kitRecord
        let hub = HubNode(config: config, ports: ports, components: [])
        let remote = StandardComponents.add(to: hub, overIPC: setup.ipc.components.compactMap(BuiltinRecipes.recipe(named:)))
        // The processes' binaries outlive a power loss; the hub that starts them is new.
        for component in remote where !world.ipc.runs(component.name) { world.ipc.add(component, bufferCountMax: setup.ipc.bufferCountMax) }
        world.ipc.node = hub
        world.components.node = hub
        world.deployments.node = hub
        return hub
    }

    private var powered = true
    /// When the latest `host.power-loss` under way ends (outages may overlap).
    private var powerBackAt: Instant?

    /// The cloud publishes `spec` to the hub: its artifacts into the bucket, its document through the broker.
    public func publish(_ spec: DeploymentSpec, at now: Instant) {
        world.cloud.deliver(topic: Topic.cloudDeployments(setup.hub.thing).name, payload: world.deployments.publish(spec), at: now)
    }

    /// The owner revokes `device`'s certificate: the hub's record says so (durably), the
    /// running hub refuses it, and the hub's broker restarts with the new revocation list.
    private func revoke(_ device: DeviceID, now: Instant) {
        guard let index = kitRecord.lastIndex(where: { $0.device == device }), kitRecord[index].revokedAt == nil else { return }
        kitRecord[index].revokedAt = now
        if powered { hub.revokeKit(device, serial: kitRecord[index].serial, now: now) }
        world.kitBroker.revoke(kitRecord[index].serial, now: now)
    }

    /// Readings published on the bus over the whole run, by every hub a power loss left behind too.
    public var readingsPublished: Int { earlier.readings + (powered ? hub.readingsPublished : 0) }

    /// `host.power-loss`: the hub's run ends now; everything due to it is void.
    private func powerOff(now: Instant) {
        guard powered else { return }
        powered = false
        hub.flushRefusals(now: now)
        earlier.readings += hub.readingsPublished
        earlier.depthMax = max(earlier.depthMax, hub.outboxDepthMax)
        earlier.kitRejected += hub.kitMessagesRejected
        scheduler.power += 1
        world.powerLost(now: now)
        world.ipc.powerLost(now: now)
        world.components.node = nil
        world.deployments.node = nil
    }

    /// Power is back: a new hub process boots from the same stores.
    private func powerOn(now: Instant) {
        guard !powered else { return }
        powered = true
        hub = Self.makeHub(setup: setup, kitRecord: kitRecord, world: world, scheduler: scheduler, history: history, outbox: outbox, deploymentStore: deploymentStore)
        hub.boot(now: now)
        world.deployments.reapply(to: hub, now: now)
        world.cloud.clientBooted(now: now)
    }

    /// Runs the whole scenario: boot, then events in (deadline, sequence) order until the end.
    /// `progress` (for a terminal) hears the simulated instant each time another
    /// `progressEvery` of simulated time has passed; it cannot change the run.
    public func run(progressEvery: Duration = .seconds(86_400), progress: ((Instant) -> Void)? = nil) {
        boot()
        advance(until: end, progressEvery: progressEvery, progress: progress)
        finish()
    }

    private var booted = false
    private var nextProgress: Instant?

    /// Boots the hub at the start; a run in steps (`advance`, `finish`) begins here.
    public func boot() {
        precondition(!booted, "a simulation boots once")
        booted = true
        hub.boot(now: scheduler.now)
    }

    /// Handles the events due up to `instant` (those at `instant` included, at most to the
    /// end) and leaves the clock there. Stepping a run in several calls handles the same
    /// events in the same order as one call to the end: the fleet runner advances its hubs
    /// in lockstep epochs this way, and acts on them between two calls.
    public func advance(until instant: Instant, progressEvery: Duration = .seconds(86_400), progress: ((Instant) -> Void)? = nil) {
        precondition(booted, "boot before advancing")
        precondition(progressEvery > .zero)
        var nextProgress = self.nextProgress ?? setup.start + progressEvery
        defer { self.nextProgress = nextProgress }
        scheduler.loop.run(until: min(instant, end)) { event, now in
            if let progress, now >= nextProgress {
                progress(now)
                while nextProgress <= now { nextProgress = nextProgress + progressEvery }
            }
            handle(event, now: now)
        }
    }

    private func handle(_ event: SimEvent, now: Instant) {
        switch event {
        case .hub(let timer, let power):
            if power == scheduler.power { hub.fire(timer, now: now) }
        case .faultStart(let index):
            let scheduled = setup.faults[index]
            world.apply(scheduled, active: true, now: now)
            switch scheduled.fault {
            case .powerLoss:
                powerOff(now: now)
                let back = now + (scheduled.duration ?? SimulationSetup.defaultPowerLoss)
                powerBackAt = max(powerBackAt ?? back, back)
                scheduler.schedule(.powerOn, at: back)
            case .deploy(let spec):
                publish(spec, at: now)
            case .revokeKit(let device):
                revoke(device, now: now)
            default:
                break
            }
        case .faultEnd(let index):
            if case .powerLoss = setup.faults[index].fault { break }
            world.apply(setup.faults[index], active: false, now: now)
        case .powerOn:
            // A shorter outage inside a longer one does not end it.
            if let powerBackAt, now >= powerBackAt { powerOn(now: now) }
        case .gpioEdge(let edge):
            if powered { hub.gpioEdge(edge, now: now) }
        case .completion(let completion, let power):
            if power == scheduler.power { hub.complete(completion, now: now) }
        case .cloudConnect:
            world.cloud.connectAttempt(now: now)
        case .kitPoll(let index):
            let kit = world.mqttKits[index]
            kit.poll(now: now)
            scheduler.schedule(.kitPoll(index), at: now + kit.interval)
        case .componentFlood:
            world.components.tick(now: now)
        case .ipc(let event):
            world.ipc.handle(event, now: now)
        case .resourceSample:
            sampleResources(at: now)
            if let interval = setup.resourceSampleInterval { scheduler.schedule(.resourceSample, at: now + interval) }
        }
    }

    /// The hub's state disk now: its outbox and deployment databases.
    private func sampleResources(at now: Instant) {
        do {
            let disk = try outbox.databaseBytes() + deploymentStore.databaseBytes()
            history.record(.hubResources(memoryBytes: nil, cpuShare: nil, diskBytes: disk), at: now)
        } catch {
            history.record(.componentError(component: "rig", error: "the hub's disk use is unknown: \(error)"), at: now)
        }
    }

    /// Ends the run at the end instant: the hub's last refusals and the end-of-run report
    /// go to the history.
    public func finish() {
        precondition(booted, "boot before finishing")
        if setup.resourceSampleInterval != nil { sampleResources(at: end) }
        hub.flushRefusals(now: end)
        world.ipc.recordTotals(at: end)
        var outboxTelemetry = SequenceRanges()
        do throws(OutboxError) {
            outboxTelemetry = SequenceRanges(try hub.unacknowledgedTelemetry())
        } catch {
            history.record(.componentError(component: "uplink", error: "\(error); the outbox's telemetry at the end is unknown"), at: end)
        }
        history.record(.simulationEnd(SimulationEndReport(
            readings: readingsPublished, unacknowledged: hub.unacknowledgedCloudMessages, outboxTelemetry: outboxTelemetry,
            outboxDepthMax: max(earlier.depthMax, hub.outboxDepthMax), cloudBytes: world.cloud.receivedBytes, cloudRefusedAttempts: world.cloud.refusedAttempts,
            kitRejected: earlier.kitRejected + hub.kitMessagesRejected,
            pending: scheduler.pendingCount)), at: end)
    }
}
