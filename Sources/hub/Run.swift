import ArgumentParser
import Foundation
import HubCore
import HubDrivers
import HubInference
import HubKernel
import HubLive
import HubSim

/// `hub run`: the hub on a Pi's Sense HAT, or against simulated appliances in real time.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the hub.",
        discussion: """
            --backend sensehat drives the Sense HAT through /dev/i2c-N (I2C_RDWR) and the joystick \
            through /dev/gpiochipN; --backend sim runs the same hub against simulated appliances and \
            register-level chips on the real clock (--time-scale speeds it up). History goes to \
            --event-log as JSON lines (default: standard output). Cloud messages are spooled to \
            --cloud-spool as JSON lines until the MQTT uplink lands. SIGTERM or SIGINT stops it.
            """)

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case sensehat
        case sim
    }

    @Option(help: "sensehat or sim.")
    var backend: Backend

    @Option(help: "I²C device of the Sense HAT (sensehat backend).")
    var i2c = "/dev/i2c-1"

    @Option(help: "GPIO chip of the joystick interrupt (sensehat backend).")
    var gpiochip = "/dev/gpiochip0"

    @Option(name: .customLong("device"), help: "A monitored appliance as id:kind (furnace, washer, fridge); repeatable.")
    var devices: [String] = ["hvac:furnace"]

    @Option(help: "The hub's cloud thing name.")
    var thing = "hbshub001"

    @Option(help: "Sensor poll interval, \(DurationText.format(HubConfig.pollIntervals)) (\(DurationText.format(HubConfig.defaultPollInterval)) as on the original hub).")
    var poll = DurationText.format(HubConfig.defaultPollInterval)

    @Option(name: .customLong("event-log"), help: "Where the history goes, as JSON lines ('-' for standard output).")
    var eventLog = "-"

    @Option(name: .customLong("cloud-spool"), help: "File that receives cloud messages (sensehat backend).")
    var cloudSpool = "hub-cloud-spool.jsonl"

    @Option(help: "Stop after this long (e.g. 30s); runs until a signal otherwise.")
    var duration: String?

    @Option(help: "Directory of model packages, one per appliance kind (<dir>/<kind>/manifest.json).")
    var models = ModelPackage.committedDirectory

    @Option(help: "Seed of the simulated world (sim backend).")
    var seed: UInt64 = 1

    @Option(name: .customLong("time-scale"),
            help: "Simulated seconds per real second (sim backend); at most the poll interval / 50 ms (200 at --poll 10s).")
    var timeScale: Int64 = 1

    func run() throws {
        let pollInterval = try parseDuration(poll, option: "--poll")
        let stopAfter = try duration.map { try parseDuration($0, option: "--duration") }
        if backend == .sensehat, timeScale != 1 { throw ValidationError("--time-scale applies to the sim backend only") }
        let parsedDevices = try devices.map(parseDevice)
        do {
            try HubRunLimits.validate(pollInterval: pollInterval, timeScale: timeScale, deviceIDs: parsedDevices.map(\.id))
        } catch {
            throw ValidationError(error.description)
        }
        let config = HubConfig(thing: thing, devices: try parsedDevices.map(withModel), pollInterval: pollInterval)

        let history: JSONLinesHistory
        do { history = try JSONLinesHistory(path: eventLog == "-" ? "/dev/stdout" : eventLog) } catch {
            throw ValidationError("--event-log: \(error)")
        }
        let clock = LiveClock(timeScale: timeScale)
        var shell = LiveShell(clock: clock)
        let node: HubNode
        switch backend {
        case .sim:
            let unsupported = config.devices.filter { !SimulatedAppliances.kinds.contains($0.kind) }
            if let first = unsupported.first {
                throw ValidationError("appliance kind \(first.kind.rawValue) has no simulator yet")
            }
            let world = SimWorld(devices: config.devices, seed: seed, start: clock.now, clock: clock, history: history)
            node = HubNode(config: config, ports: world.hubPorts(timers: shell, completions: shell, history: history))
            // Simulated joystick edges reach the hub on the loop's next turn, like libgpiod's would.
            world.gpio.onEdge { edge, now in node.gpioEdge(edge, now: now) }
        case .sensehat:
            guard config.devices.count == 1, let device = config.devices.first else {
                throw ValidationError("the sensehat backend monitors one appliance (one Sense HAT); give one --device")
            }
            let bus: LinuxI2CBus
            do { bus = try LinuxI2CBus(path: i2c) } catch { throw ValidationError("--i2c: \(error)") }
            // The joystick is a nicety: without the GPIO chip the hub runs on, without it.
            var gpio: LinuxGPIO?
            do {
                gpio = try LinuxGPIO(chipPath: gpiochip, edgeLine: HubPorts.joystickLine)
            } catch {
                FileHandle.standardError.write(Data("hub: joystick disabled: \(error)\n".utf8))
            }
            if let gpio {
                shell = LiveShell(clock: clock) { timeout in
                    do { return try gpio.waitForEdge(timeout: timeout) } catch {
                        FileHandle.standardError.write(Data("hub: GPIO: \(error)\n".utf8))
                        LiveShell.sleep(timeout)
                        return nil
                    }
                }
            }
            // After the shell is final: the spool acknowledges into it.
            let spool: CloudSpoolFile
            do { spool = try CloudSpoolFile(path: cloudSpool, completions: shell) } catch { throw ValidationError("--cloud-spool: \(error)") }
            let ports = HubPorts(sensorKits: [MonitoringKit.for(device.kind).drivers(on: bus)], display: LEDMatrixDriver(bus: bus),
                                 joystick: gpio == nil ? nil : JoystickDriver(bus: bus), cloud: spool, timers: shell, history: history)
            node = HubNode(config: config, ports: ports)
        }
        let deadline = stopAfter.map { clock.now + $0 }
        let hubLoop = LoopService(name: "hub", body: { [shell] in
            shell.run(node, until: deadline) { edge, now in node.gpioEdge(edge, now: now) }
        }, stop: { [realTime = shell.loop.clock] in realTime.requestStop() })
        try LiveServices.run([hubLoop], label: "hub")
    }

    /// The device scored by `<models>/<kind>` if that package exists (and loads), else by
    /// the interim detector, with a warning.
    private func withModel(_ device: HubConfig.Device) throws -> HubConfig.Device {
        let directory = ModelPackage.directory(for: device.kind, in: models)
        guard ModelPackage.exists(at: directory) else {
            FileHandle.standardError.write(Data("hub: no model package at \(directory); \(device.id) uses the interim detector\n".utf8))
            return device
        }
        do {
            return HubConfig.Device(id: device.id, kind: device.kind, detector: .package(try ModelPackage.load(directory: directory)))
        } catch {
            throw ValidationError("--models: \(directory): \(error)")
        }
    }

    private func parseDuration(_ text: String, option: String) throws -> Duration {
        do { return try DurationText.parse(text) } catch { throw ValidationError("\(option): \(error)") }
    }

    private func parseDevice(_ text: String) throws -> HubConfig.Device {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--device \(text): expected id:kind, like hvac:furnace") }
        guard let kind = ApplianceKind(rawValue: parts[1]) else {
            throw ValidationError("--device \(text): unknown kind '\(parts[1])' (furnace, washer, fridge)")
        }
        do { return HubConfig.Device(id: try DeviceID(validating: parts[0]), kind: kind) } catch {
            throw ValidationError("--device \(text): \(error)")
        }
    }
}
