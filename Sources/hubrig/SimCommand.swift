import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubKernel
import HubLive
import HubScenario
import HubSim

struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim", abstract: "Simulated hardware and data.", subcommands: [Run.self, I2CServe.self, Export.self])

    /// `hubrig sim i2c-serve`: a simulated Sense HAT behind a Unix socket, for the LD_PRELOAD shim.
    struct I2CServe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "i2c-serve",
            abstract: "Serve a simulated Sense HAT's I²C bus on a Unix socket, in real time.",
            discussion: """
                Pair with the shim (built by shim/build): LD_PRELOAD=.build/shim/libhubrig-i2c.so \
                HUBRIG_I2C_DEVICE=/dev/i2c-1 HUBRIG_I2C_SOCKET=<socket> hub run --backend sensehat --i2c /dev/i2c-1 \
                (or i2cdetect -y 1, i2cget, smbus2, ...: every program on the i2c-dev interface). With --scenario, the \
                first appliance of the scenario is simulated and its timeline's faults are applied in real \
                time from the moment the server starts. Stops on SIGTERM/SIGINT or after --duration.
                """)

        @Option(help: "Unix socket path to serve on (created owner-only).")
        var socket: String

        @Option(help: "Scenario whose first appliance and timeline to serve.")
        var scenario: String?

        @Option(help: "Appliance kind when no scenario is given.")
        var appliance = "furnace"

        @Option(help: "Seed of the simulated world (default: the scenario's, else 1).")
        var seed: UInt64?

        @Option(help: "Stop after this long (e.g. 30s).")
        var duration: String?

        @Option(name: .customLong("event-log"), help: "The world's history (faults, LED frames) as JSON lines.")
        var eventLog = "/dev/stderr"

        @Option(name: .customLong("sensehat-socket"),
                help: "Also serve the Sense HAT's kernel framebuffer and joystick (as the rpi-sense overlay binds them) on this socket, for the shim's HUBRIG_SENSEHAT_SOCKET.")
        var senseHATSocket: String?

        func run() throws {
            var device = HubConfig.Device(id: "hvac", kind: .furnace)
            var timeline: [ScheduledFault] = []
            var worldSeed = seed ?? 1
            if let scenario {
                let loaded: Scenario
                do { loaded = try ScenarioLoader.load(path: scenario) } catch {
                    printError("invalid scenario: \(error)")
                    throw ExitCode(2)
                }
                let first = loaded.appliances[0]
                device = HubConfig.Device(id: first.id, kind: first.kind)
                timeline = loaded.timeline.filter { $0.device == nil || $0.device == first.id }
                worldSeed = seed ?? loaded.seed
            } else {
                guard let kind = ApplianceKind(rawValue: appliance), SimulatedAppliances.kinds.contains(kind) else {
                    throw ValidationError("--appliance must be one of \(SimulatedAppliances.kinds.map(\.rawValue).joined(separator: ", "))")
                }
                device.kind = kind
            }
            let stopAfter: Duration?
            do { stopAfter = try duration.map { try DurationText.parse($0) } } catch {
                throw ValidationError("--duration: \(error)")
            }
            let history: JSONLinesHistory
            do { history = try JSONLinesHistory(path: eventLog) } catch { throw ValidationError("--event-log: \(error)") }
            let clock = LiveClock()
            let world = SimWorld(devices: [device], seed: worldSeed, start: clock.now, clock: clock, history: history)
            let server = I2CSocketServer(bus: world.kits[0].bus, socketPath: socket)
            do { try server.start() } catch {
                printError("i2c-serve: \(error)")
                throw ExitCode(2)
            }
            defer { server.stop() }
            var kernel: SenseHATKernelServer?
            if let senseHATSocket {
                let drivers = SenseHATKernelServer(i2c: server, socketPath: senseHATSocket, clock: clock)
                do { try drivers.start() } catch {
                    printError("i2c-serve: \(error)")
                    throw ExitCode(2)
                }
                // The joystick's interrupt: edges come from `world.apply`, inside `withBus`.
                world.gpio.onEdge { [bus = world.kits[0].bus] edge, now in
                    if edge.line == SimWorld.joystickLine && edge.rising { drivers.joystickInterrupt(bus: bus, at: now) }
                }
                kernel = drivers
                printError("i2c-serve: Sense HAT framebuffer and joystick on \(senseHATSocket)")
            }
            defer { kernel?.stop() }
            printError("i2c-serve: simulated \(device.kind.rawValue) '\(device.id)' (seed \(worldSeed)) on \(socket)")
            let loop = EventLoop<(ScheduledFault, Bool), RealTimeClock>(clock: RealTimeClock(clock: clock))
            let deadline = stopAfter.map { clock.now + $0 }
            let service = LoopService(name: "i2c-serve", body: {
                runTimeline(timeline, world: world, server: server, loop: loop, until: deadline)
            }, stop: { [realTime = loop.clock] in realTime.requestStop() })
            try LiveServices.run([service], label: "i2c-serve")
            let stats = server.statistics
            printError("i2c-serve: served \(stats.requests) requests")
        }

        /// Applies timeline entries at their real instants; all world access goes through the
        /// server's lock, since the serving thread touches the same chips.
        private func runTimeline(_ timeline: [ScheduledFault], world: SimWorld, server: I2CSocketServer,
                                 loop: EventLoop<(ScheduledFault, Bool), RealTimeClock>, until deadline: Instant?) {
            for entry in timeline {
                loop.schedule((entry, true), at: world.start + entry.at)
                if let lasting = entry.duration { loop.schedule((entry, false), at: world.start + entry.at + lasting) }
            }
            loop.run(until: deadline) { entry, now in
                server.withBus { _ in world.apply(entry.0, active: entry.1, now: now) }
            }
        }
    }
}

extension SimCommand {
    /// `hubrig sim export`: labelled telemetry for training and evaluation.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate one appliance and write its telemetry with ground-truth labels as CSV.",
            discussion: """
                Failures: --failure NAME@START[,for=DURATION][,ramp=DURATION], e.g. blocked-filter@3d,for=1d,ramp=2h \
                (names: \(SimFailureSpec.names)). Rows during an active failure are labelled with its name, \
                others `normal`.
                """)

        @Option(help: "furnace, washer or fridge.")
        var appliance: String

        @Option(help: "Simulated time, e.g. 30d.")
        var duration: String

        @Option(help: "Seed of the simulated world.")
        var seed: UInt64 = 1

        @Option(help: "Poll interval, \(DurationText.format(HubConfig.pollIntervals)).")
        var poll = DurationText.format(HubConfig.defaultPollInterval)

        @Option(name: .customLong("failure"), help: "An appliance failure to inject (repeatable).")
        var failures: [String] = []

        @Option(help: "Output CSV file.")
        var out: String

        func run() throws {
            guard let kind = ApplianceKind(rawValue: appliance) else {
                throw ValidationError("--appliance must be furnace, washer or fridge")
            }
            let span: Duration
            let interval: Duration
            do { span = try DurationText.parse(duration) } catch { throw ValidationError("--duration: \(error)") }
            do { interval = try DurationText.parse(poll) } catch { throw ValidationError("--poll: \(error)") }
            guard span > .zero else { throw ValidationError("--duration must be positive (at most \(DurationText.format(DurationText.maximum)))") }
            do { try HubRunLimits.validate(pollInterval: interval) } catch { throw ValidationError(error.description) }
            var timeline: [ScheduledFault] = []
            for text in failures {
                do { timeline.append(try SimFailureSpec.parse(text, kind: kind, device: DeviceID(stringLiteral: kind.exportDevice))) } catch {
                    throw ValidationError("--failure \(text): \(error)")
                }
                guard timeline.last!.at < span else { throw ValidationError("--failure \(text): starts at or after the end of --duration \(duration)") }
            }
            do {
                let summary = try TelemetryExport.run(kind: kind, duration: span, seed: seed, pollInterval: interval,
                                                      timeline: timeline, to: out)
                printError("export: \(summary.rows) rows (\(summary.labelledRows) labelled) → \(out)")
            } catch {
                printError("export: \(error)")
                throw ExitCode(2)
            }
        }
    }
}
