import HubCore
import HubDrivers
import HubKernel
import HubStore

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

    /// 2026-01-15 00:00 UTC: a winter day, so the furnace works.
    public static let defaultStart = Instant(secondsSinceEpoch: 1_768_435_200)

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
    public let hub: HubNode

    public var cloud: SimCloudBroker { world.cloud }
    public var display: ATtiny88Model { world.display }

    public init(setup: SimulationSetup, eventLog: EventLogWriter? = nil, recordTruth: Bool = false,
                recorder: HistoryRecorder? = nil) {
        self.setup = setup
        scheduler = SimScheduler(start: setup.start)
        history = recorder ?? HistoryRecorder(log: eventLog)
        world = SimWorld(devices: setup.hub.devices, seed: setup.seed, start: setup.start, clock: scheduler, history: history)
        if recordTruth { world.recordTruth() }
        // Edges become events, so the hub handles them from the loop like everything else.
        world.gpio.onEdge { [scheduler] edge, now in scheduler.schedule(.gpioEdge(edge), at: now) }
        world.cloud.scheduleAttempt = { [scheduler] at in scheduler.schedule(.cloudConnect, at: at) }
        for (index, kit) in world.mqttKits.enumerated() {
            // Kits are not in step with the hub: each starts a fixed share into its interval.
            scheduler.schedule(.kitPoll(index), at: setup.start + .nanoseconds(kit.interval.nanoseconds * Int64(index + 1) / Int64(world.mqttKits.count + 1)))
        }
        var ports = world.hubPorts(timers: scheduler, completions: scheduler, history: history, verifyReads: setup.verifyReads)
        if !setup.ipc.components.isEmpty {
            ports.ipc = world.ipc
            ports.processes = world.ipc
        }
        hub = HubNode(config: setup.hub, ports: ports, components: [])
        for component in StandardComponents.add(to: hub, overIPC: setup.ipc.components.compactMap(BuiltinRecipes.recipe(named:))) {
            world.ipc.add(component, bufferCountMax: setup.ipc.bufferCountMax)
        }
        world.ipc.node = hub
        world.ipc.completions = scheduler
        world.ipc.schedule = { [scheduler] event, at in scheduler.schedule(.ipc(event), at: at) }
        world.components.ipc = world.ipc
        world.components.node = hub
        world.components.thing = setup.hub.thing
        world.components.scheduleTick = { [scheduler] at in scheduler.schedule(.componentFlood, at: at) }
        for (index, fault) in setup.faults.enumerated() {
            scheduler.schedule(.faultStart(index), at: setup.start + fault.at)
            if let duration = fault.duration {
                scheduler.schedule(.faultEnd(index), at: setup.start + fault.at + duration)
            }
        }
    }

    public var end: Instant { setup.start + setup.duration }

    /// Runs the whole scenario: boot, then events in (deadline, sequence) order until the end.
    /// `progress` (for a terminal) hears the simulated instant each time another
    /// `progressEvery` of simulated time has passed; it cannot change the run.
    public func run(progressEvery: Duration = .seconds(86_400), progress: ((Instant) -> Void)? = nil) {
        precondition(progressEvery > .zero)
        hub.boot(now: scheduler.now)
        var nextProgress = setup.start + progressEvery
        scheduler.loop.run(until: end) { event, now in
            if let progress, now >= nextProgress {
                progress(now)
                while nextProgress <= now { nextProgress = nextProgress + progressEvery }
            }
            switch event {
            case .hub(let timer):
                hub.fire(timer, now: now)
            case .faultStart(let index):
                world.apply(setup.faults[index], active: true, now: now)
            case .faultEnd(let index):
                world.apply(setup.faults[index], active: false, now: now)
            case .gpioEdge(let edge):
                hub.gpioEdge(edge, now: now)
            case .completion(let completion):
                hub.complete(completion, now: now)
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
            }
        }
        hub.flushRefusals(now: end)
        world.ipc.recordTotals(at: end)
        var outboxTelemetry = SequenceRanges()
        do throws(OutboxError) {
            outboxTelemetry = SequenceRanges(try hub.unacknowledgedTelemetry())
        } catch {
            history.record(.componentError(component: "uplink", error: "\(error); the outbox's telemetry at the end is unknown"), at: end)
        }
        history.record(.simulationEnd(SimulationEndReport(
            readings: hub.readingsPublished, unacknowledged: hub.unacknowledgedCloudMessages, outboxTelemetry: outboxTelemetry,
            outboxDepthMax: hub.outboxDepthMax, cloudBytes: world.cloud.receivedBytes, cloudRefusedAttempts: world.cloud.refusedAttempts,
            kitRejected: hub.kitMessagesRejected,
            pending: scheduler.pendingCount)), at: end)
    }
}
