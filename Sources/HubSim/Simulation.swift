import HubCore
import HubDrivers
import HubKernel
import HubStore

/// A fault the simulator can inject, by layer (DESIGN.md fault naming `layer.target.kind`).
public enum SimFault: Equatable, Sendable {
    /// `i2c.<addr>.absent`: the address stops answering.
    case i2cAbsent(address: UInt8)
    /// `i2c.<addr>.nack`: transfers to the address are refused with this probability.
    case i2cNack(address: UInt8, probability: Double)

    public var name: String {
        switch self {
        case .i2cAbsent(let address): "i2c.\(hexAddress(address)).absent"
        case .i2cNack(let address, _): "i2c.\(hexAddress(address)).nack"
        }
    }
}

/// One timeline entry: a fault starting `at` after the run's start, for `duration` (or to the end).
public struct ScheduledFault: Equatable, Sendable {
    public var at: Duration
    public var duration: Duration?
    public var fault: SimFault
    /// Limit to one device's kit; nil means every kit.
    public var device: DeviceID?

    public init(at: Duration, duration: Duration?, fault: SimFault, device: DeviceID? = nil) {
        self.at = at
        self.duration = duration
        self.fault = fault
        self.device = device
    }
}

/// Everything that determines a simulation run: same setup, same history, byte for byte.
public struct SimulationSetup: Sendable {
    public var seed: UInt64
    public var start: Instant
    public var duration: Duration
    public var hub: HubConfig
    public var faults: [ScheduledFault]

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

/// Appliance kinds the simulator has physics for.
public enum SimulatedAppliances {
    public static let kinds: [ApplianceKind] = [.furnace]
}

/// One simulated hub and its world, run by a single-threaded discrete-event loop.
///
/// Construction wires the real hub (`HubNode`) to simulated ports: per device a house
/// appliance with register-level chips on its own I²C bus, the LED matrix on the first
/// kit's bus, a recording cloud broker, and the scheduler as clock and timer port. Every
/// random stream is split from the one seed in a fixed order.
public final class Simulation {
    public let setup: SimulationSetup
    public let scheduler: SimScheduler
    public let history: HistoryRecorder
    public let cloud: SimCloudBroker
    public let hub: HubNode
    public let buses: [SimI2CBus]
    public let appliances: [FurnaceModel]
    public let display: ATtiny88Model
    public let weather: HouseWeather

    public init(setup: SimulationSetup, eventLog: EventLogWriter? = nil) {
        precondition(!setup.hub.devices.isEmpty, "a hub monitors at least one device")
        self.setup = setup
        var root = SeededRandom(seed: setup.seed)
        scheduler = SimScheduler(start: setup.start)
        history = HistoryRecorder(log: eventLog)
        cloud = SimCloudBroker(history: history)
        weather = HouseWeather(start: setup.start, random: root.split("weather"))
        display = ATtiny88Model(history: history)
        var buses: [SimI2CBus] = []
        var appliances: [FurnaceModel] = []
        var kits: [[any SensorDriver]] = []
        for device in setup.hub.devices {
            precondition(SimulatedAppliances.kinds.contains(device.kind), "no physics model for \(device.kind)")
            var streams = root.split("device.\(device.id)")
            let bus = SimI2CBus(clock: scheduler, random: streams.split("bus"))
            let furnace = FurnaceModel(weather: weather, start: setup.start, random: streams.split("physics"))
            var calibrationStream = streams.split("hts221.calibration")
            let hts221 = HTS221Model(calibration: HTS221Model.randomCalibration(using: &calibrationStream),
                                     source: furnace, random: streams.split("hts221.noise"))
            let lps25h = LPS25HModel(source: furnace, random: streams.split("lps25h"))
            bus.attach(hts221, at: HTS221Register.address)
            bus.attach(lps25h, at: LPS25HRegister.address)
            if buses.isEmpty { bus.attach(display, at: ATtiny88Register.address) }
            buses.append(bus)
            appliances.append(furnace)
            kits.append([HTS221Driver(bus: bus), LPS25HDriver(bus: bus)])
        }
        self.buses = buses
        self.appliances = appliances
        let ports = HubPorts(sensorKits: kits, display: LEDMatrixDriver(bus: buses[0]), cloud: cloud,
                             timers: scheduler, history: history)
        hub = HubNode(config: setup.hub, ports: ports)
        for (index, fault) in setup.faults.enumerated() {
            scheduler.schedule(.faultStart(index), at: setup.start + fault.at)
            if let duration = fault.duration {
                scheduler.schedule(.faultEnd(index), at: setup.start + fault.at + duration)
            }
        }
    }

    public var end: Instant { setup.start + setup.duration }

    /// Runs the whole scenario: boot, then events in (deadline, sequence) order until the end.
    public func run() {
        hub.boot(now: scheduler.now)
        while let event = scheduler.next(notAfter: end) {
            let now = scheduler.now
            switch event {
            case .hub(let timer):
                hub.fire(timer, now: now)
            case .faultStart(let index):
                apply(setup.faults[index], active: true, now: now)
            case .faultEnd(let index):
                apply(setup.faults[index], active: false, now: now)
            }
        }
        scheduler.advance(to: end)
        history.record(.simulationEnd(readings: hub.readingsPublished), at: end)
    }

    private func apply(_ scheduled: ScheduledFault, active: Bool, now: Instant) {
        history.record(active ? .faultStart(name: scheduled.fault.name) : .faultEnd(name: scheduled.fault.name), at: now)
        for (index, device) in setup.hub.devices.enumerated() where scheduled.device == nil || scheduled.device == device.id {
            switch scheduled.fault {
            case .i2cAbsent(let address):
                buses[index].setAbsent(active, at: address)
            case .i2cNack(let address, let probability):
                buses[index].setNackProbability(active ? probability : 0, at: address)
            }
        }
    }
}
