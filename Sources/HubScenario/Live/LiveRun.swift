import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive
import HubSim
import HubStore
import Synchronization

/// What a live run needs besides the scenario.
public struct LiveRunOptions: Sendable {
    /// The production `hub` binary.
    public var hubExecutable: String
    /// The LD_PRELOAD stand-in for /dev/i2c-N (`shim/build`).
    public var shimLibrary: String
    /// Where the run's files go (configuration, certificates, logs, the hub's state); kept.
    public var directory: String
    /// Simulated seconds per real second; nil: the largest the poll interval allows.
    public var timeScale: Int64?
    /// The world's seed instead of the scenario's.
    public var seed: UInt64?
    /// A bench run on a Pi's real Sense HAT instead of the stand-in.
    public var bench: LiveBench?

    public init(hubExecutable: String, shimLibrary: String, directory: String, timeScale: Int64? = nil, seed: UInt64? = nil,
                bench: LiveBench? = nil) {
        self.hubExecutable = hubExecutable
        self.shimLibrary = shimLibrary
        self.directory = directory
        self.timeScale = timeScale
        self.seed = seed
        self.bench = bench
    }
}

/// A bench: the hub drives the real Sense HAT, and a person does what the scenario's
/// prompts say (docs/bench.md).
public struct LiveBench: Sendable {
    public var i2cDevice: String
    public var gpioChip: String
    /// Shows a prompt and waits up to the timeout for the person to say it is done; true if
    /// they did.
    public var ask: @Sendable (_ prompt: String, _ timeout: Duration) -> Bool

    public init(i2cDevice: String, gpioChip: String, ask: @escaping @Sendable (String, Duration) -> Bool) {
        self.i2cDevice = i2cDevice
        self.gpioChip = gpioChip
        self.ask = ask
    }

    /// How long a prompt waits for an entry without a `for`.
    public static let promptTimeoutDefault: Duration = .seconds(120)
}

/// A live run could not be set up, or its hub died where it should not have.
public enum LiveRunError: Error, CustomStringConvertible {
    case setup(String)
    case hubExited(String, log: String)
    case interrupted

    public var description: String {
        switch self {
        case .setup(let reason): reason
        case .hubExited(let reason, let log): "\(reason) (its output: \(log))"
        case .interrupted: "interrupted"
        }
    }
}

/// Asks a live run to stop early (Ctrl-C): the run tears everything down and reports.
public final class LiveRunStop: Sendable {
    private let requested = Atomic<Bool>(false)
    private let clocks = Mutex<[RealTimeClock]>([])

    public init() {}

    public var isRequested: Bool { requested.load(ordering: .relaxed) }

    public func request() {
        requested.store(true, ordering: .relaxed)
        for clock in clocks.withLock({ $0 }) { clock.requestStop() }
    }

    func watch(_ clock: RealTimeClock) {
        clocks.withLock { $0.append(clock) }
        if isRequested { clock.requestStop() }
    }
}

/// Runs a scenario against the production `hub` process in real time, scaled.
///
/// The rig around the hub is all real parts but the chips: a plain `mosquitto` for the
/// kits, a TLS `mosquitto` for the cloud (certificates made by `openssl`), the TCP fault
/// proxy between the hub and the cloud, and the I²C stand-in serving the simulated world
/// the simulation uses (same seed, same start instant, so the same weather and physics).
/// The hub, the stand-in and the kits read one clock (`HUBRIG_CLOCK`): scaled time from
/// the scenario's start. The timeline is applied where each fault lives (`LiveRoute`);
/// the hub's event logs, the world's and the cloud's are merged by time and judged by the
/// same checkers as a simulation.
public enum LiveRun {
    /// A message on the terminal while the run goes (set up, each timeline entry, teardown).
    public typealias Progress = @Sendable (String) -> Void

    /// The time scale of a run that names none: as fast as the chips allow. The LPS25H
    /// converts at 25 Hz, every 40 ms of hub time; at 40× that is every millisecond of real
    /// time, against a stand-in burst of about 50 µs, so the drivers' verified reads (which
    /// restart when a conversion lands between two bursts) almost never run out of tries.
    /// At 200× a conversion lands in a quarter of the bursts and a few percent of the polls
    /// fail verification: the drivers are right, the scale is not.
    public static let defaultTimeScale: Int64 = 40

    public static func run(_ scenario: Scenario, options: LiveRunOptions, stop: LiveRunStop,
                           progress: @escaping Progress = { _ in }) throws(LiveRunError) -> ScenarioOutcome {
        let began = ContinuousClock.now
        let scaleMax = options.bench == nil ? HubRunLimits.timeScaleMax(pollInterval: scenario.pollInterval) : 1
        let scale = options.timeScale ?? min(scaleMax, options.bench == nil ? defaultTimeScale : 1)
        if options.bench != nil, scale != 1 { throw .setup("--time-scale \(scale): a bench runs in real time (real chips convert in real time)") }
        guard (1...scaleMax).contains(scale) else {
            throw .setup("--time-scale \(scale): 1…\(scaleMax) at a poll interval of \(DurationText.format(scenario.pollInterval)) (\(DurationText.format(HubRunLimits.realPollMin)) of real time per poll at least)")
        }
        let directory = options.directory
        for sub in ["", "/certs", "/bucket", "/state"] {
            guard mkdir(directory + sub, 0o700) == 0 || errno == EEXIST else {
                throw .setup("\(directory + sub): \(String(cString: strerror(errno)))")
            }
        }
        // Last of all: a hub program still naming the run's directory (a component process
        // the hub started before it was killed, orphaned) goes too. Nothing is left behind.
        defer { reapStragglers(running: options.hubExecutable, naming: directory) }
        let seed = options.seed ?? scenario.seed
        let setup = scenario.simulationSetup(seed: seed)
        let mqttKits = scenario.appliances.filter { $0.sensor == "mqtt-kit" }

        progress("certificates, brokers, proxy in \(directory)")
        let certificates: LocalCertificates
        let cloudBroker: LocalMosquitto
        // The kits' broker is the hub's own (identity: managed); the kits are enrolled in
        // its state directory first, as `hub kit enroll` does.
        var kitBroker: Int?
        var kitAuthority: KitAuthority?
        do {
            certificates = try LocalCertificates.make(in: directory + "/certs", clients: ["hub", "sink"])
            cloudBroker = try LocalMosquitto(directory: directory, listener: certificates.mutualTLSListener)
            if !mqttKits.isEmpty {
                kitBroker = try LocalMosquitto.freePort()
                kitAuthority = try enrolKits(mqttKits.map(\.id), stateDirectory: directory + "/state", into: directory + "/kits")
            }
        } catch {
            throw .setup("\(error)")
        }
        defer { cloudBroker.stop() }
        let proxy = CloudFaultProxyService(listenPort: 0, upstreamHost: "127.0.0.1", upstreamPort: UInt16(cloudBroker.port), seed: seed,
                                           controlSocket: directory + "/proxy.sock")
        do { try proxy.start() } catch { throw .setup("fault proxy: \(error)") }
        let proxyDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            proxy.serve(until: nil)
            proxyDone.signal()
        }
        defer {
            proxy.requestStop()
            proxyDone.wait()
            proxy.stop()
        }

        // One clock for the hub, the world and the cloud: the scenario's start, scaled.
        let clock = LiveClock(timeScale: scale, origin: setup.start)
        let worldHistory: SharedHistory
        let cloudHistory: SharedHistory
        do {
            worldHistory = SharedHistory(try JSONLinesHistory(path: directory + "/world.jsonl"))
            cloudHistory = SharedHistory(try JSONLinesHistory(path: directory + "/cloud.jsonl"))
        } catch {
            throw .setup("\(error)")
        }
        let world = SimWorld(devices: setup.hub.devices, seed: seed, start: setup.start, clock: clock, history: worldHistory)
        if scenario.expectations.contains(where: \.needsTruth) { world.recordTruth() }
        // On a bench the world keeps the kits and the bucket, and its Sense HAT is not served
        // (the server's lock still orders the world's users).
        let standIn = I2CSocketServer(bus: world.kits[0].bus, socketPath: directory + "/i2c.sock")
        if options.bench == nil {
            do { try standIn.start() } catch { throw .setup("I²C stand-in: \(error)") }
        }
        defer { standIn.stop() }

        let cloud = try LiveCloud(thing: scenario.thing, port: cloudBroker.port, certificates: certificates, history: cloudHistory, clock: clock)
        cloud.start()
        defer { cloud.stop() }
        guard waitUntil(.seconds(10), { cloud.isConnected }) else {
            throw .setup("the cloud's client did not connect to its broker within 10 s (logs in \(directory))")
        }

        let configFile = directory + "/hub.yaml"
        do {
            try LiveHubProcess.configText(scenario, cloudPort: proxy.proxy.port, certificates: certificates, kitBroker: kitBroker,
                                          stateDirectory: directory + "/state")
                .write(toFile: configFile, atomically: true, encoding: .utf8)
        } catch {
            throw .setup("\(configFile): \(error)")
        }
        let hub = LiveHubProcess(.init(executable: options.hubExecutable, shimLibrary: options.shimLibrary, directory: directory,
                                       i2cSocket: directory + "/i2c.sock", clock: clock, configFile: configFile,
                                       ipcComponents: scenario.ipc.components,
                                       bench: options.bench.map { ($0.i2cDevice, $0.gpioChip) }))
        try hub.writeRecipes()
        defer { hub.stop() }
        progress("starting \(options.hubExecutable) at \(scale)× real time")
        let start = try hub.start()
        // The hub has started its kits' broker before its control socket answered: the kits connect now.
        var kits: LiveKitPublisher?
        if let kitBroker, let kitAuthority {
            let publisher = try LiveKitPublisher(port: kitBroker, kits: mqttKits.map(\.id), authority: kitAuthority, files: directory + "/kits")
            publisher.start()
            for kit in world.mqttKits { kit.completions = publisher }
            kits = publisher
            guard waitUntil(.seconds(10), { publisher.isConnected }) else {
                throw .setup("the kits' clients did not connect to the hub's kits' broker within 10 s (logs in \(directory))")
            }
        }
        defer { kits?.stop() }

        // The timeline and the kits' turns, in one loop on the scaled clock.
        let loop = EventLoop<LiveStep, RealTimeClock>(clock: RealTimeClock(clock: clock))
        stop.watch(loop.clock)
        for (index, entry) in scenario.timeline.enumerated() {
            loop.schedule(.fault(index, active: true), at: start + entry.at)
            if let lasting = entry.duration ?? (entry.fault == .powerLoss ? .seconds(30) : nil) {
                loop.schedule(.fault(index, active: false), at: start + entry.at + lasting)
            }
        }
        for (index, kit) in world.mqttKits.enumerated() { loop.schedule(.kitPoll(index), at: start + kit.interval) }
        let sampleInterval = scenario.resourceSampleInterval
        if let sampleInterval { loop.schedule(.resourceSample, at: start + sampleInterval) }
        let sampleResources = { (now: Instant) in
            if let sample = hub.resources(timeScale: scale) { worldHistory.record(sample, at: now) }
        }
        let end = start + scenario.duration
        var steps = LiveSteps(scenario: scenario, world: world, standIn: standIn, hub: hub, proxySocket: proxy.controlSocket,
                              cloud: cloud, bucket: directory + "/bucket", history: worldHistory, progress: progress, start: start,
                              bench: options.bench)
        var failure: LiveRunError?
        loop.run(until: end) { step, now in
            guard failure == nil else { return }
            switch step {
            case .kitPoll(let index):
                let kit = world.mqttKits[index]
                standIn.withBus { _ in kit.poll(now: now) }
                loop.schedule(.kitPoll(index), at: now + kit.interval)
            case .resourceSample:
                sampleResources(now)
                if let sampleInterval { loop.schedule(.resourceSample, at: now + sampleInterval) }
            case .fault(let index, let active):
                do throws(LiveRunError) { try steps.apply(index, active: active, now: now) } catch {
                    failure = error
                    loop.clock.requestStop()
                }
            }
        }
        if let failure { throw failure }
        if stop.isRequested { throw .interrupted }

        // The end, as a simulation's end finds it: the hub says, between two of its events,
        // which telemetry its outbox still holds; its events up to that instant are judged,
        // and the cloud's receipts of what it had sent by then, however late.
        // First the link is sealed (the proxy's blackhole: what the hub sends from now on
        // reaches no broker), so nothing sent after the hub's answer can arrive unannounced;
        // what was on its way has half a second to reach the cloud's client.
        progress("sealing the cloud link, reading the hub's outbox, stopping the hub")
        try steps.sealCloudLink()
        usleep(500_000)
        let (cutoff, held) = try steps.outboxAtEnd()
        if sampleInterval != nil { sampleResources(cutoff) }
        let usage = hub.usage()
        let lastStart = hub.lastStartedAt
        worldHistory.record(.simulationEnd(SimulationEndReport(readings: 0, unacknowledged: 0, outboxTelemetry: held, pending: 0)), at: cutoff)
        let clean = hub.stop()

        let merged = directory + "/events.jsonl"
        var outcome: ScenarioOutcome
        do {
            let components = try Self.accumulateComponentLogs(hub.componentLogs, into: directory + "/components.jsonl")
            let logs = (hub.eventLogs + components + [directory + "/world.jsonl"]).map { (path: $0, until: Optional(cutoff)) }
            outcome = try ScenarioRunner.check(scenario, histories: logs + [(directory + "/cloud.jsonl", nil)], start: start, mergedPath: merged)
        } catch {
            throw .setup("judging the run: \(error)")
        }
        outcome.seed = seed
        outcome.wallSeconds = (ContinuousClock.now - began).secondsValue
        outcome.live = LiveFigures(timeScale: scale, hubIncarnations: hub.incarnations, cleanExit: clean ?? false, directory: directory,
                                   hubPeakResidentBytes: usage?.peakResidentBytes,
                                   hubCPUShare: usage.map { $0.cpuSeconds / max(1e-9, (ContinuousClock.now - lastStart).secondsValue) })
        return outcome
    }

    /// Enrols each kit with the hub's kit authority in `stateDirectory`, its files in
    /// `into`, and records it, as `hub kit enroll` does. Certificates are real X.509 on the
    /// wall clock (a year from now), while the hub's clock runs the scenario's scaled time:
    /// expiry is judged in simulation, not here.
    static func enrolKits(_ kits: [DeviceID], stateDirectory: String, into directory: String) throws -> KitAuthority {
        let wall = LiveClock().now
        let authority = try KitAuthority.open(stateDirectory: stateDirectory, now: wall)
        let store = try KitEnrolmentStore(path: stateDirectory + "/kits.sqlite")
        for kit in kits {
            try store.enrol(try authority.enrol(kit, validity: KitAuthority.validityDefault, into: directory, now: wall), at: wall)
        }
        return authority
    }

    /// The component processes' logs as one, in time order, with each `ipc.client` report
    /// made cumulative over the processes that came before it (by first event): a process
    /// the supervisor restarted starts counting from zero, and what it held when it went is
    /// lost with it (counted as dropped), as `SimIPCBus` counts a restarted component.
    /// Returns `[]` when no component ran over IPC.
    static func accumulateComponentLogs(_ paths: [String], into merged: String) throws(EventLogReadError) -> [String] {
        guard !paths.isEmpty else { return [] }
        var files: [[(Instant, HistoryEvent)]] = []
        for path in paths {
            var events: [(Instant, HistoryEvent)] = []
            _ = try EventLogReader.read(path: path) { event, time in events.append((time, event)) }
            if !events.isEmpty { files.append(events) }
        }
        files.sort { $0[0].0 < $1[0].0 }
        var before: [String: (published: Int, dropped: Int)] = [:]
        var all: [(Instant, Int, HistoryEvent)] = []
        for (index, events) in files.enumerated() {
            var last: [String: (published: Int, dropped: Int, held: Int)] = [:]
            for (time, event) in events {
                guard case .ipcClient(let name, let published, let dropped, let held) = event else {
                    all.append((time, index, event))
                    continue
                }
                let earlier = before[name] ?? (0, 0)
                last[name] = (published, dropped, held)
                all.append((time, index, .ipcClient(component: name, published: earlier.published + published,
                                                    dropped: earlier.dropped + dropped, held: held)))
            }
            for (name, totals) in last {
                let earlier = before[name] ?? (0, 0)
                before[name] = (earlier.published + totals.published, earlier.dropped + totals.dropped + totals.held)
            }
        }
        all.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        do {
            let writer = try EventLogWriter(path: merged)
            for (time, _, event) in all { try writer.append(event, at: time) }
            try writer.close()
        } catch {
            throw EventLogReadError(path: merged, line: nil, reason: "\(error)")
        }
        return [merged]
    }

    /// SIGKILLs every process running `executable`, or a mosquitto, whose command line names `directory`.
    static func reapStragglers(running executable: String, naming directory: String) {
        let me = getpid()
        for id in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(id), pid != me, let command = ProcessFacts.commandLine(of: pid) else { continue }
            // The hub's own kits' broker too: a hub killed outright leaves its mosquitto.
            if command.contains(directory + "/"), command.contains(executable) || command.contains("mosquitto") { kill(pid, SIGKILL) }
        }
    }

    /// Polls `condition` every 20 ms of real time until it holds or `timeout` passes.
    static func waitUntil(_ timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if condition() { return true }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return condition()
    }
}

/// What a live run adds to an outcome.
public struct LiveFigures: Sendable {
    public var timeScale: Int64
    /// Hub processes started (more than one after a power loss).
    public var hubIncarnations: Int
    /// The last one stopped on SIGTERM with exit status 0.
    public var cleanExit: Bool
    public var directory: String
    /// The last hub process's peak resident set (VmHWM), bytes.
    public var hubPeakResidentBytes: Int?
    /// Its CPU time (user + system) over the real time it ran, as a share of one core.
    public var hubCPUShare: Double?
}

/// One step of a live run's loop.
enum LiveStep {
    case fault(Int, active: Bool)
    case kitPoll(Int)
    /// Time to record the hub process's resource use (a `resources` expectation asks).
    case resourceSample
}

/// Carries out timeline entries where they live (`LiveRoute`).
struct LiveSteps {
    let scenario: Scenario
    let world: SimWorld
    let standIn: I2CSocketServer
    let hub: LiveHubProcess
    let proxySocket: String
    let cloud: LiveCloud
    let bucket: String
    let history: SharedHistory
    let progress: LiveRun.Progress
    let start: Instant
    let bench: LiveBench?
    /// The control socket's fault id of each entry in force (hub or proxy).
    private var injected: [Int: String] = [:]

    init(scenario: Scenario, world: SimWorld, standIn: I2CSocketServer, hub: LiveHubProcess, proxySocket: String, cloud: LiveCloud,
         bucket: String, history: SharedHistory, progress: @escaping LiveRun.Progress, start: Instant, bench: LiveBench?) {
        self.bench = bench
        self.scenario = scenario
        self.world = world
        self.standIn = standIn
        self.hub = hub
        self.proxySocket = proxySocket
        self.cloud = cloud
        self.bucket = bucket
        self.history = history
        self.progress = progress
        self.start = start
    }

    mutating func apply(_ index: Int, active: Bool, now: Instant) throws(LiveRunError) {
        let entry = scenario.timeline[index]
        let route: LiveRoute
        do {
            route = try bench == nil ? LiveRoute.of(entry.fault) : LiveRoute.onBench(entry, senseHAT: scenario.appliances[0].id)
        } catch {
            throw .setup("\(entry.fault.name): \(error)")  // the loader refused these for the scenario's modes
        }
        progress("\(DurationText.format(now - start)) \(active ? "start" : "end") \(entry.fault.name)")
        switch route {
        case .world:
            standIn.withBus { _ in world.apply(entry, active: active, now: now) }
        case .hub(let fault):
            try control(hub.controlSocket, fault, entry: index, active: active, now: now)
        case .proxy(let fault):
            try control(proxySocket, .cloud(fault), entry: index, active: active, now: now)
        case .powerLoss:
            history.record(active ? .faultStart(name: entry.fault.name) : .faultEnd(name: entry.fault.name), at: now)
            if active {
                hub.kill()
                standIn.withBus { _ in world.powerLost(now: now) }
            } else {
                _ = try hub.start()
            }
        case .publish(let spec):
            try publish(spec, now: now)
        case .revoke(let device):
            guard active else { return }
            history.record(.faultStart(name: entry.fault.name), at: now)
            try revoke(device)
        case .person:
            // The person does the whole entry while the prompt waits; its end is theirs too.
            guard active, let bench, let prompt = entry.prompt else { return }
            let name = "bench.prompt " + entry.fault.name
            history.record(.faultStart(name: name), at: now)
            let done = bench.ask(prompt, entry.duration.map { max($0, .seconds(30)) } ?? LiveBench.promptTimeoutDefault)
            history.record(.faultEnd(name: name + (done ? " done" : " timed out")), at: hub.setup.clock.now)
        }
    }

    /// The owner's `hub kit revoke`: the real command on the hub's state directory, which
    /// records it, writes the revocation list and tells the running hub.
    private func revoke(_ device: DeviceID) throws(LiveRunError) {
        let log = hub.setup.directory + "/hub-kit-revoke.log"
        do {
            let process = try ChildProcess(hub.setup.executable, ["kit", "revoke", device.rawValue, "--state-dir", hub.stateDirectory,
                                                                  "--control-socket", hub.controlSocket], output: log)
            guard process.wait(seconds: 60) == 0 else { throw LiveRunError.setup("hub kit revoke \(device) failed (see \(log))") }
        } catch let error as LiveRunError {
            throw error
        } catch {
            throw .setup("hub kit revoke \(device): \(error)")
        }
    }

    /// Injects (or clears) a fault through a control socket, as `hubrig fault` does.
    private mutating func control(_ socket: String, _ fault: LiveFault, entry: Int, active: Bool, now: Instant) throws(LiveRunError) {
        do {
            let client = try ControlClient(path: socket)
            if active {
                var fields: [(String, JSONValue)] = [("fault", .string(fault.name))]
                let parameters = fault.parameters
                if !parameters.isEmpty { fields.append(("parameters", .object(Dictionary(uniqueKeysWithValues: parameters)))) }
                let reply = try client.request("inject", fields)
                if !fault.isInstant, case .object(let members) = reply, case .string(let id)? = members["id"] { injected[entry] = id }
            } else if let id = injected.removeValue(forKey: entry) {
                _ = try client.request("clear", [("fault_id", .string(id))])
            }
        } catch {
            throw .setup("\(fault.name) through \(socket): \(error)")
        }
        history.record(active ? .faultStart(name: fault.name) : .faultEnd(name: fault.name), at: now)
    }

    /// The cloud publishes a deployment: its artifacts into the bucket directory (as the
    /// bucket serves them now, so `deploy.corrupt-artifact` damages them), the document to
    /// the hub's deployments topic.
    private func publish(_ spec: DeploymentSpec, now: Instant) throws(LiveRunError) {
        // Only what this publication put in the bucket (or changed) is written: rewriting
        // earlier artifacts would damage them too while deploy.corrupt-artifact lasts.
        let (document, files) = standIn.withBus { _ in
            let before = world.deployments.published
            let document = world.deployments.publish(spec)
            let added = world.deployments.published.filter { item in !before.contains { $0.path == item.path && $0.bytes == item.bytes } }
            return (document, added.compactMap { item in world.deployments.served(path: item.path).map { (item.path, $0) } })
        }
        for (path, bytes) in files {
            let file = bucket + "/" + path
            do {
                try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: file))
            } catch {
                throw .setup("\(file): \(error)")
            }
        }
        history.record(.faultStart(name: SimFault.deploy(spec).name), at: now)
        try cloud.publishDeployment(document, thing: scenario.thing)
    }

    /// Ends the run's link to the cloud for good: the proxy blackholes both ways.
    func sealCloudLink() throws(LiveRunError) {
        do { _ = try ControlClient(path: proxySocket).request("inject", [("fault", .string(LiveFault.cloud(.blackhole).name))]) } catch {
            throw .setup("sealing the cloud link through \(proxySocket): \(error)")
        }
    }

    /// The hub's own account of its outbox (`outbox` on its control socket): the instant it
    /// answered and the telemetry sequences held.
    func outboxAtEnd() throws(LiveRunError) -> (Instant, SequenceRanges) {
        do {
            guard case .object(let reply) = try ControlClient(path: hub.controlSocket).request("outbox"),
                  case .number(let time)? = reply["time"], case .array(let pairs)? = reply["telemetry"] else {
                throw LiveRunError.setup("the hub's outbox reply is not {time, telemetry}")
            }
            var ranges: [ClosedRange<Int64>] = []
            for pair in pairs {
                guard case .array(let bounds) = pair, bounds.count == 2, case .number(let low) = bounds[0], case .number(let high) = bounds[1], low <= high else {
                    throw LiveRunError.setup("the hub's outbox reply holds a range that is not [first, last]")
                }
                ranges.append(Int64(low)...Int64(high))
            }
            return (Instant(nanosecondsSinceEpoch: Int64((time * 1e9).rounded())), SequenceRanges(ranges))
        } catch let error as LiveRunError {
            throw error
        } catch {
            throw .hubExited("the hub did not answer on its control socket at the end: \(error)", log: hub.outputLogs.last ?? "")
        }
    }
}
