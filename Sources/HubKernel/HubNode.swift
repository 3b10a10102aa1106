import HubCore
import HubDrivers
import HubInference

/// The hub's synchronous core: its components, the bus between them, and the host that
/// carries out their actions against the ports.
///
/// It is only the router, the delivery FIFO, the timer table and the host: every
/// component has the one `HubComponent` shape, so adding one touches nothing here. Both
/// shells drive the same node: the simulator calls `boot`, `fire`, `complete` and
/// `gpioEdge` from its loop with virtual instants, the live shell from the real clock.
/// The node never waits: sensor drivers answer at once (or say "not ready"), bus
/// deliveries drain through one FIFO before a call returns, timers go to the shell
/// through `TimerPort`, and slow ports (the cloud) answer later through the shell.
///
/// It is also the in-process host of the `Supervisor`: components start when the
/// supervisor launches them (dependencies first), a crashed one is restarted as a fresh
/// copy of the value it was added as, and the bus enforces each component's recipe —
/// publishes and subscriptions outside its grants, or over its rate, are refused and
/// recorded; messages for a component that is not taking them wait in its bounded queue.
public final class HubNode {
    public let config: HubConfig
    public let ports: HubPorts
    var slots: [HostedComponent] = [] {
        didSet { slotIndex = Dictionary(uniqueKeysWithValues: slots.enumerated().map { ($1.recipe.name, $0) }) }
    }
    /// Each slot's place by component name. Only looked up, never iterated.
    private var slotIndex: [String: Int] = [:]
    var router = BusRouter()
    private var deliveries: [(Int, BusDelivery)] = []
    private var deliveryHead = 0
    private var draining = false
    var supervisor: Supervisor?
    /// The deployment agent and its host's state (`DeploymentHost.swift`).
    var agent = DeploymentAgent(record: nil)
    var deploymentEvents: [DeploymentAgent.Event] = []
    var deploymentsDraining = false
    /// How deep `supervise` calls are nested: deployment events wait for the outermost to end.
    var superviseDepth = 0
    /// Model packages deployments put in charge, by device; replayed to a restarted inference.
    var deployedModels: [(device: DeviceID, package: ModelPackage)] = []
    /// The packages devices had at boot, for a rollback to the factory configuration.
    var factoryModels: [(device: DeviceID, package: ModelPackage)] = []
    /// The configuration the agent last validated, kept for the `apply` that follows.
    var preparedDeployment: PreparedConfiguration?
    /// `crashDeployedVersions`.
    private var deployedVersionsCrash = false
    /// Subscriptions refused at `add`, recorded at boot (the history needs an instant).
    private var refusedSubscriptions: [(component: String, filter: TopicFilter, reason: String)] = []

    /// Publishes and subscriptions the bus refused since boot.
    public private(set) var busRefusedCount = 0
    /// Queued messages the bus dropped because a subscriber's queue was full.
    public private(set) var busDroppedCount = 0

    /// Readings published on the bus since boot.
    public private(set) var readingsPublished = 0

    /// The hub with its standard components: sensor, inference, display and uplink.
    public convenience init(config: HubConfig, ports: HubPorts) {
        self.init(config: config, ports: ports, components: [])
        StandardComponents.add(to: self)
    }

    /// The hub with `components`, subscribed to the bus in this order (which is the order
    /// subscribers of one topic hear a message in); `add` appends more before boot.
    public init(config: HubConfig, ports: HubPorts, components: [any HubComponent]) {
        precondition(ports.sensorKits.count == config.devices.count { $0.source == .senseHAT },
                     "one sensor kit per device read by the hub's own Sense HAT")
        self.config = config
        self.ports = ports
        for component in components { add(component) }
    }

    /// Adds a component (before `boot`) under `recipe`: it is subscribed to the topics it
    /// asks for that the recipe grants, and joins the host; the supervisor starts it at boot.
    /// Without a recipe it gets the built-in recipe of its name, or none: deny by default, so
    /// a component nobody wrote a recipe for may neither publish nor subscribe.
    ///
    /// Generic, so a caller that names the component's type gets the host's code
    /// specialised for it — the hub's hot path runs no generic metadata lookups.
    public func add<C: HubComponent>(_ component: C, recipe: ComponentRecipe? = nil) {
        precondition(supervisor == nil, "components are added before boot")
        let recipe = recipe ?? BuiltinRecipes.recipe(named: component.name)
            ?? ComponentRecipe(name: component.name, version: SemanticVersion(0, 0, 0), summary: "no recipe: nothing granted",
                               lifecycle: .builtin(component.name), access: AccessPolicy(publish: [], subscribe: []))
        precondition(recipe.name == component.name, "recipe \(recipe.name) given for component \(component.name)")
        precondition(slotIndex[recipe.name] == nil, "two components named \(recipe.name)")
        let index = slots.count
        for filter in component.subscriptions {
            if recipe.access.maySubscribe(filter) {
                router.subscribe(index, to: filter)
            } else {
                refusedSubscriptions.append((recipe.name, filter, "not granted by \(recipe.identifier)"))
            }
        }
        slots.append(InProcessComponent(ComponentBox(component: component), recipe: recipe, index: index))
    }

    /// Adds a component that runs in a process of its own and reaches the bus over IPC
    /// (before `boot`): the supervisor launches it in dependency order, and it counts as
    /// started when its process says hello. It subscribes over the wire.
    public func addRemote(recipe: ComponentRecipe) {
        precondition(supervisor == nil, "components are added before boot")
        appendRemote(recipe)
    }

    /// `addRemote` without the boot check: a deployment adds components to a running hub.
    func appendRemote(_ recipe: ComponentRecipe) {
        precondition(slotIndex[recipe.name] == nil, "two components named \(recipe.name)")
        slots.append(RemoteComponent(recipe: recipe, index: slots.count))
    }

    /// The component of type `C`, for questions about its state (tests, reports).
    public func component<C: HubComponent>(_ type: C.Type) -> C? {
        for case let slot as InProcessComponent in slots { if let box = slot.box as? ComponentBox<C> { return box.component } }
        return nil
    }

    /// The name of the component at `index` in the host.
    func name(of index: Int) -> String { index == HubTimer.supervisor ? "supervisor" : slots[index].recipe.name }

    /// The recipes of the components added so far, in the order added.
    public var recipes: [ComponentRecipe] { slots.map(\.recipe) }

    /// The supervisor's state of the component named `name` (nil before boot or if none).
    public func state(of name: String) -> Supervisor.State? { supervisor?.state(of: name) }

    /// Puts a new model package in charge of `device`, handing over the current window.
    /// Refuses (and keeps the current model) when the package is for another appliance kind.
    @discardableResult
    public func installModel(_ package: ModelPackage, for device: DeviceID, now: Instant) -> Bool {
        guard let configured = config.devices.first(where: { $0.id == device }), configured.kind == package.manifest.kind else {
            ports.history.record(.componentError(component: "inference",
                                                 error: "model \(package.manifest.identifier) is for \(package.manifest.kind.rawValue); \(device) keeps its model"), at: now)
            return false
        }
        for slot in slots where slot.takesMessages { slot.handle(.command(.installModel(device: device, package: package)), node: self, now: now) }
        return true
    }

    /// The owner revoked kit `device`'s certificate (serial `serial`): the kit bridge refuses
    /// it from now on and reports it. False when the hub has no such kit.
    @discardableResult
    public func revokeKit(_ device: DeviceID, serial: String, now: Instant) -> Bool {
        guard config.devices.contains(where: { $0.id == device && $0.source != .senseHAT }) else { return false }
        for slot in slots where slot.takesMessages { slot.handle(.command(.revokeKit(device: device, serial: serial)), node: self, now: now) }
        return true
    }

    /// The model (`name@version`) scoring a device, if any.
    public func model(of device: DeviceID) -> String? { component(InferenceComponent.self)?.model(of: device) }

    /// The debounced condition the inference component holds for a device.
    public func condition(of device: DeviceID) -> DeviceCondition? { component(InferenceComponent.self)?.condition(of: device) }

    /// Cloud messages handed over and not yet acknowledged (reported at the end of a run).
    /// The configuration the hub runs: the last deployment that succeeded, or the factory one.
    public var deployedConfiguration: DeployedConfiguration { agent.bootConfiguration }

    public var unacknowledgedCloudMessages: Int { component(UplinkComponent.self)?.unacknowledgedCount ?? 0 }

    /// Kit messages the kit bridge rejected.
    public var kitMessagesRejected: Int { component(KitBridgeComponent.self)?.rejected.total ?? 0 }

    /// The most messages the uplink's outbox held at once.
    public var outboxDepthMax: Int { component(UplinkComponent.self)?.depthMax ?? 0 }

    /// The sequences of the telemetry the uplink holds unacknowledged (in its outbox or in
    /// memory), as ascending ranges.
    public func unacknowledgedTelemetry() throws(OutboxError) -> [ClosedRange<Int64>] {
        try component(UplinkComponent.self)?.unacknowledgedTelemetry() ?? []
    }

    /// Starts the hub: the supervisor launches the components, dependencies first.
    public func boot(now: Instant) {
        precondition(supervisor == nil, "a node boots once")
        ports.history.record(.hubStarted(thing: config.thing), at: now)
        for refusal in refusedSubscriptions {
            refused(refusal.component, operation: "subscribe", topic: refusal.filter.pattern, reason: refusal.reason, now: now)
        }
        prepareDeployments(now: now)
        let recipes: RecipeSet
        do { recipes = try RecipeSet(slots.map(\.recipe)) } catch { preconditionFailure("the node's recipes do not form a set: \(error)") }
        supervisor = Supervisor(recipes: recipes)
        supervise(supervisor!.start(now: now), now: now)
        if ports.deployments != nil { deployActions(agent.boot(now: now), now: now) }
    }

    /// Stops every component, dependents first (the live shell's orderly shutdown).
    public func shutdown(now: Instant) {
        guard supervisor != nil else { return }
        supervise(supervisor!.stop(now: now), now: now)
    }

    public func fire(_ timer: HubTimer, now: Instant) {
        if timer.component == HubTimer.supervisor {
            guard let payload = timer.payload as? Supervisor.Timer else { preconditionFailure("timer \(timer.payload) is not the supervisor's") }
            supervise(supervisor!.handle(.timer(payload), now: now), now: now)
            return
        }
        if timer.component == HubTimer.deployments {
            guard let payload = timer.payload as? DeploymentAgent.Timer else { preconditionFailure("timer \(timer.payload) is not the deployment agent's") }
            deploy(.timer(payload), now: now)
            return
        }
        let slot = slots[timer.component]
        // A timer set by an earlier run of the component, or one due while it is hung, is lost
        // with that run, as a process's timers are.
        guard slot.incarnation == timer.incarnation, slot.takesMessages else { return }
        slot.fire(timer.payload, node: self, now: now)
    }

    // MARK: Faults (the simulator's `component.<name>.*`)

    /// The component crashes now: its state is lost and the supervisor hears it exited.
    public func crash(_ name: String, reason: String, now: Instant) {
        guard let slot = slot(named: name), slot.running else { return }
        slot.running = false
        supervise(supervisor!.handle(.exited(name, reason: reason), now: now), now: now)
    }

    /// The component's current run hangs (`true`): it takes no message, timer or probe until
    /// the supervisor restarts it. `false` lets a run still hung go on.
    public func hang(_ name: String, _ hung: Bool) {
        guard let slot = slot(named: name) else { return }
        slot.hungIncarnation = hung ? slot.incarnation : nil
    }

    /// While set, every start of the component crashes at once (a crash loop).
    public func crashAtStart(_ name: String, _ crashing: Bool) {
        slot(named: name)?.crashesAtStart = crashing
    }

    /// While set, every start of a component version a deployment brought crashes at once
    /// (a bad build); those running now crash.
    public func crashDeployedVersions(_ crashing: Bool, now: Instant) {
        deployedVersionsCrash = crashing
        guard crashing else { return }
        for slot in slots where slot.deployed && slot.running { crash(slot.recipe.name, reason: "crashed (fault)", now: now) }
    }

    /// Publishes `message` as if component `name` had: the bus checks its grants and rate.
    public func publish(as name: String, _ message: BusMessage, on topic: Topic, now: Instant) {
        guard let slot = slot(named: name), slot.takesMessages else { return }
        if slot.mayPublish(topic, node: self, now: now) { publish(message, on: topic, from: slot, now: now) }
    }

    /// Looked up for every IPC frame and supervisor action, so by name rather than a scan.
    func slot(named name: String) -> HostedComponent? { slotIndex[name].map { slots[$0] } }

    // MARK: IPC (components in processes of their own)

    /// Which component each IPC session belongs to, once it said hello. Only looked up.
    private var sessions: [Int: String] = [:]
    private var sessionCount = 0

    /// A frame from IPC session `session` (docs/ipc.md); answers go out through `ports.ipc`.
    public func ipcReceived(_ frame: IPCFrame, session: Int, now: Instant) {
        guard let ipc = ports.ipc else { preconditionFailure("IPC frames without an IPC port") }
        guard let name = sessions[session] else {
            guard case .hello(let component, let versions) = frame else {
                ipc.close(session: session, reason: "the first frame must be hello, not \(frame.type)")
                return
            }
            hello(component, versions: versions, session: session, now: now)
            return
        }
        let remote = slot(named: name) as! RemoteComponent
        switch frame {
        case .subscribe(let id, let filter):
            guard remote.recipe.access.maySubscribe(filter) else {
                let reason = "not granted by \(remote.recipe.identifier)"
                refused(name, operation: "subscribe", topic: filter.pattern, reason: reason, now: now)
                ipc.send(.refused(id: id, reason: reason), session: session)
                return
            }
            if !remote.filters.contains(filter) {
                remote.filters.append(filter)
                router.subscribe(remote.index, to: filter)
            }
            ipc.send(.ack(id: id), session: session)
        case .publish(let id, let topic, let message):
            if let reason = remote.refusal(toPublish: topic, node: self, now: now) {
                ipc.send(.refused(id: id, reason: reason), session: session)
            } else {
                publish(message, on: topic, from: remote, now: now)
                ipc.send(.ack(id: id), session: session)
            }
        case .pong(let probe):
            remote.answered(probe)
            supervise(supervisor!.handle(.probeAnswered(name, probe: probe), now: now), now: now)
        case .bye:
            ipcClosed(session: session, now: now)
            ipc.close(session: session, reason: "bye")
        case .hello, .welcome, .ack, .refused, .message, .probe:
            ipcClosed(session: session, now: now)
            ipc.close(session: session, reason: "a component does not send \(frame.type) frames")
        }
    }

    /// IPC session `session` is gone (the process exited, the connection broke, the bus
    /// server restarted): what is published for the component waits in its queue, and its
    /// health probes go unanswered until it is back.
    public func ipcClosed(session: Int, now: Instant) {
        guard let name = sessions.removeValue(forKey: session), let remote = slot(named: name) as? RemoteComponent else { return }
        if remote.session == session { endSession(of: remote, now: now) }
    }

    /// The remote component's session is over: what it had not confirmed waits to be delivered again.
    private func endSession(of remote: RemoteComponent, now: Instant) {
        remote.session = nil
        for topic in remote.sessionEnded() {
            busDroppedCount += 1
            ports.history.record(.busDropped(subscriber: remote.recipe.name, topic: topic), at: now)
        }
    }

    /// The bus server went down or is back. While it is down, and for `ipcReconnectGrace`
    /// after (clients come back with their backoff, at most a minute apart), a remote
    /// component without a session is excused its probes: the server, not the component,
    /// is what failed, and restarting the component would throw away what it holds.
    private func ipcServer(up: Bool, now: Instant) {
        ipcServerUp = up
        ipcServerBackAt = up ? now : nil
        guard !up, supervisor != nil else { return }
        for case let remote as RemoteComponent in slots {
            if let probe = supervisor!.outstandingProbe(of: remote.recipe.name) {
                supervise(supervisor!.handle(.probeAnswered(remote.recipe.name, probe: probe), now: now), now: now)
            }
        }
    }

    private var ipcServerUp = true
    private var ipcServerBackAt: Instant?

    /// How long after the bus server is back a component may take to reconnect unprobed:
    /// the protocol's backoff cap (docs/ipc.md: 1 s doubling to 60 s).
    public static let ipcReconnectGrace: Duration = .seconds(60)

    private func excusesProbe(now: Instant) -> Bool {
        !ipcServerUp || ipcServerBackAt.map { now < $0 + Self.ipcReconnectGrace } == true
    }

    private func hello(_ name: String, versions: [Int], session: Int, now: Instant) {
        let ipc = ports.ipc!
        guard let remote = slot(named: name) as? RemoteComponent else {
            let known = slots.filter { $0 is RemoteComponent }.map(\.recipe.name)
            ipc.send(.refused(id: nil, reason: "no component '\(name)' runs over IPC here (those that do: \(known.joined(separator: ", ")))"), session: session)
            ipc.close(session: session, reason: "refused")
            return
        }
        guard let version = versions.filter(IPCFrame.versions.contains).max() else {
            ipc.send(.refused(id: nil, reason: "no common protocol version (the hub speaks \(IPCFrame.versions))"), session: session)
            ipc.close(session: session, reason: "refused")
            return
        }
        let state = supervisor?.state(of: name)
        guard state == .starting || state == .running, remote.session == nil else {
            let why = remote.session != nil ? "it is already connected" : "it is \(state?.rawValue ?? "not supervised")"
            ipc.send(.refused(id: nil, reason: "\(name) cannot connect now: \(why)"), session: session)
            ipc.close(session: session, reason: "refused")
            return
        }
        sessionCount += 1
        sessions[session] = name
        remote.session = session
        ipc.send(.welcome(version: version, session: sessionCount), session: session)
        if state == .starting { supervise(supervisor!.handle(.started(name), now: now), now: now) }
        // A probe sent on the lost connection (or while there was none) is asked again here.
        if let probe = supervisor?.outstandingProbe(of: name) {
            ipc.send(.probe(probe: probe), session: session)
            remote.probed(probe)
        }
        deliverQueued(to: remote, now: now)
    }

    // MARK: Supervision

    /// Carries out the supervisor's actions; in-process components answer at once, so the
    /// answers (started, exited at start, probe answered) feed back within the call.
    func supervise(_ actions: [Supervisor.Action], now: Instant) {
        superviseDepth += 1
        defer {
            superviseDepth -= 1
            if superviseDepth == 0, !deploymentEvents.isEmpty || agent.awaitingRollback != nil { drainDeployments(now: now) }
        }
        var pending = actions
        var next = 0
        while next < pending.count {
            let action = pending[next]
            next += 1
            switch action {
            case .launch(let name):
                let slot = slot(named: name)!
                let recipe = slot.recipe
                slot.relaunch()
                if slot is RemoteComponent {
                    // Up when its process says hello (`ipcReceived`). The process port runs a
                    // program, or (the simulator) a built-in component behind its own client.
                    ports.processes?.start(recipe)
                    continue
                } else if slot.crashesAtStart || (deployedVersionsCrash && slot.deployed) {
                    slot.running = false
                    pending += supervisor!.handle(.exited(recipe.name, reason: "crashed while starting"), now: now)
                } else {
                    slot.handle(.start, node: self, now: now)
                    // A restarted inference begins from its pristine value: it reads its deployed models again.
                    for (device, package) in deployedModels { slot.handle(.command(.installModel(device: device, package: package)), node: self, now: now) }
                    pending += supervisor!.handle(.started(recipe.name), now: now)
                    deliverQueued(to: slot, now: now)
                }
            case .terminate(let name, let reason):
                let slot = slot(named: name)
                slot?.running = false
                if let remote = slot as? RemoteComponent {
                    if let session = remote.session {
                        endSession(of: remote, now: now)
                        sessions[session] = nil
                        ports.ipc?.close(session: session, reason: reason)
                    }
                    ports.processes?.stop(name)
                }
            case .probe(let name, let probe, let deadline, let at):
                let slot = slot(named: name)
                if let remote = slot as? RemoteComponent {
                    if remote.takesMessages, let session = remote.session {
                        ports.ipc?.send(.probe(probe: probe), session: session)
                        remote.probed(probe)
                    } else if remote.session == nil, excusesProbe(now: now) {
                        pending += supervisor!.handle(.probeAnswered(name, probe: probe), now: now)
                        continue
                    }
                    ports.timers.schedule(HubTimer(component: HubTimer.supervisor, payload: deadline), at: at)
                } else if slot?.takesMessages == true {
                    pending += supervisor!.handle(.probeAnswered(name, probe: probe), now: now)
                } else {
                    ports.timers.schedule(HubTimer(component: HubTimer.supervisor, payload: deadline), at: at)
                }
            case .schedule(let timer, let at):
                ports.timers.schedule(HubTimer(component: HubTimer.supervisor, payload: timer), at: at)
            case .stateChanged(let component, let from, let to, let reason):
                ports.history.record(.componentState(component: component, from: from.rawValue, to: to.rawValue, reason: reason), at: now)
                if to == .errored || to == .broken, agent.busy { deploymentEvents.append(.componentFailed(component, reason: reason)) }
                if to == .broken || to == .stopped, let slot = slot(named: component) {
                    slot.detached = true
                    for topic in slot.discardQueue() {
                        busDroppedCount += 1
                        ports.history.record(.busDropped(subscriber: component, topic: topic), at: now)
                    }
                }
            }
        }
    }

    /// Hands a (re)started component what was queued for it while it was not taking messages.
    private func deliverQueued(to slot: HostedComponent, now: Instant) {
        while let delivery = slot.dequeue() { deliveries.append((slot.index, delivery)) }
        drain(now: now)
    }

    /// A port's answer to an earlier request, delivered by the shell from its loop to the
    /// components that made such requests (the cloud's answers about messages to those that
    /// sent to it); news from the cloud port itself — the connection, inbound messages —
    /// goes to every component, so one that has not sent yet (telemetry waiting for its
    /// daily batch) still hears the connection drop.
    public func complete(_ completion: PortCompletion, now: Instant) {
        switch completion {
        case .ipcFrame(let session, let frame):
            ipcReceived(frame, session: session, now: now)
        case .ipcClosed(let session):
            ipcClosed(session: session, now: now)
        case .ipcServer(let up):
            ipcServer(up: up, now: now)
        case .processExited(let component, let reason):
            guard let remote = slot(named: component) as? RemoteComponent, remote.running else { return }
            remote.running = false
            if let session = remote.session { ipcClosed(session: session, now: now) }
            supervise(supervisor!.handle(.exited(component, reason: reason), now: now), now: now)
        case .cloud(.inbound(let topic, let payload)) where topic == Topic.cloudDeployments(config.thing).name:
            deploymentReceived(payload, now: now)
        case .artifactFetched(let artifact, let result):
            deploy(.fetched(artifact, result), now: now)
        case .cloud(.acknowledged), .cloud(.failed):
            for index in cloudClients where slots[index].takesMessages { slots[index].handle(.completion(completion), node: self, now: now) }
        default:
            for slot in slots where slot.takesMessages { slot.handle(.completion(completion), node: self, now: now) }
        }
    }

    /// The components that have sent to the cloud, in the order they first did.
    private var cloudClients: [Int] = []

    /// An edge on an input line. A rising edge on the joystick line means KEYS changed.
    public func gpioEdge(_ edge: GPIOEdge, now: Instant) {
        guard edge.rising, edge.line == ports.joystickLine, ports.joystick != nil else { return }
        for slot in slots where slot.takesMessages { slot.handle(.input(.joystickInterrupt), node: self, now: now) }
    }

    // MARK: Host

    /// Carries out one port request; drivers answer within it, so their completion comes back now.
    func perform(_ request: PortRequest, from slot: Int, now: Instant) -> PortCompletion? {
        if case .sendCloud = request, !cloudClients.contains(slot) { cloudClients.append(slot) }
        return ports.perform(request, now: now)
    }

    func schedule(_ timer: HubTimer, at: Instant) {
        ports.timers.schedule(timer, at: at)
    }

    /// Counts a refusal and records it: the first of its kind (component, operation, topic,
    /// reason) at once, repeats within `refusalWindow` of that together with the next record
    /// or at `flushRefusals` — every refusal is counted, and a flood cannot flood the log.
    func refused(_ component: String, operation: String, topic: String, reason: String, now: Instant) {
        busRefusedCount += 1
        if let index = refusals.firstIndex(where: { $0.component == component && $0.operation == operation && $0.topic == topic && $0.reason == reason }) {
            if now - refusals[index].windowStart < Self.refusalWindow {
                refusals[index].suppressed += 1
                return
            }
            flushRefusal(index, now: now)
            refusals[index].windowStart = now
        } else {
            refusals.append(RefusalLog(component: component, operation: operation, topic: topic, reason: reason, windowStart: now))
        }
        ports.history.record(.busRefused(component: component, operation: operation, topic: topic, reason: reason, count: 1), at: now)
    }

    /// Records the refusals counted but not yet recorded (at the end of a run or a shutdown).
    public func flushRefusals(now: Instant) {
        for index in refusals.indices { flushRefusal(index, now: now) }
    }

    private func flushRefusal(_ index: Int, now: Instant) {
        let log = refusals[index]
        guard log.suppressed > 0 else { return }
        ports.history.record(.busRefused(component: log.component, operation: log.operation, topic: log.topic, reason: log.reason,
                                         count: log.suppressed), at: now)
        refusals[index].suppressed = 0
    }

    /// Repeats of one refusal within this are recorded as one event.
    public static let refusalWindow: Duration = .seconds(60)

    private struct RefusalLog {
        let component: String
        let operation: String
        let topic: String
        let reason: String
        var windowStart: Instant
        var suppressed = 0
    }
    /// One per kind of refusal seen, in the order first seen (flushed in that order).
    private var refusals: [RefusalLog] = []

    /// Publishes a message of the hub's own (the deployment agent's status) from "supervisor".
    func publishAsHub(_ message: BusMessage, on topic: Topic, now: Instant) {
        publish(message, on: topic, from: "supervisor", index: HubTimer.supervisor, now: now)
    }

    /// Records the message, queues one delivery per matching subscription and, unless a
    /// delivery is already draining, drains the FIFO: each subscriber sees messages in
    /// publish order, also those published while handling another. A subscriber not
    /// taking messages gets it in its own bounded queue instead, unless it is broken or
    /// stopped (then it has no subscriptions, as a dead client at a broker).
    func publish(_ message: BusMessage, on topic: Topic, from publisher: HostedComponent, now: Instant) {
        publish(message, on: topic, from: publisher.recipe.name, index: publisher.index, now: now)
    }

    private func publish(_ message: BusMessage, on topic: Topic, from name: String, index: Int, now: Instant) {
        if case .reading = message { readingsPublished += 1 }
        ports.history.record(.busPublish(topic: topic, from: name, message: message), at: now)
        let delivery = BusDelivery(topic: topic, message: message, from: index)
        for subscriber in router.route(topic) { deliveries.append((subscriber, delivery)) }
        drain(now: now)
    }

    private func drain(now: Instant) {
        guard !draining else { return }
        draining = true
        while deliveryHead < deliveries.count {
            let (subscriber, delivery) = deliveries[deliveryHead]
            deliveryHead += 1
            let slot = slots[subscriber]
            if slot.takesMessages {
                slot.handle(.message(delivery), node: self, now: now)
            } else if !slot.detached {
                queue(delivery, for: slot, now: now)
            }
        }
        deliveries.removeAll(keepingCapacity: true)
        deliveryHead = 0
        draining = false
    }

    /// Overflow policy: the oldest queued message goes (a subscriber back from a restart
    /// wants the newest state most), and each drop is counted and recorded.
    private func queue(_ delivery: BusDelivery, for slot: HostedComponent, now: Instant) {
        if let dropped = slot.enqueue(delivery) {
            busDroppedCount += 1
            ports.history.record(.busDropped(subscriber: slot.recipe.name, topic: dropped), at: now)
        }
    }
}

