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
        hub = HubNode(config: setup.hub, ports: world.hubPorts(timers: scheduler, completions: scheduler, history: history, verifyReads: setup.verifyReads))
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
        }
    }

    /// Ends the run at the end instant: the hub's last refusals and the end-of-run report
    /// go to the history.
    public func finish() {
        precondition(booted, "boot before finishing")
        hub.flushRefusals(now: end)
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
