import HubCore

/// A bus message on its way to a subscriber, with who published it (the publisher's place
/// in the host: a number is cheaper to carry than a name).
struct BusDelivery {
    let topic: Topic
    let message: BusMessage
    let from: Int
}

/// The events the node hands every component alike: all but its own timers.
enum HostEvent {
    case start
    case message(BusDelivery)
    case completion(PortCompletion)
    case input(HubInput)
    case command(HubCommand)
}

/// One component in the host, whatever its type and wherever it runs: its recipe, whether
/// its current run takes messages, its queue while it does not, and its publish budget.
///
/// Subclassed by `InProcessComponent` (a value in this process) and `RemoteComponent`
/// (a process behind the IPC socket). Neither is generic: a generic class's methods run
/// unspecialised, looking up generic metadata on every call, so the in-process one holds
/// closures made where the component's type is known instead.
class HostedComponent {
    /// The recipe in charge: the one added with, or a deployment's.
    private(set) var recipe: ComponentRecipe
    /// The recipe the component was added with (what a rollback to the factory returns to).
    let baseRecipe: ComponentRecipe
    /// Whether `recipe` came from a deployment.
    var deployed: Bool { recipe != baseRecipe }
    let index: Int
    /// Launched by the supervisor and not since crashed or terminated.
    var running = false
    /// Which run this is: timers carry it, so a crashed run's timers die with it.
    private(set) var incarnation = 0
    /// The run that hangs (a fault), if any.
    var hungIncarnation: Int?
    /// A fault: every start crashes.
    var crashesAtStart = false
    /// Broken or stopped: the supervisor will not start it again, so, like a dead client's
    /// subscriptions at a broker, nothing is queued for it.
    var detached = false
    /// Messages waiting while the component does not take them, oldest first from `queueHead`.
    private var queue: [BusDelivery] = []
    private var queueHead = 0
    /// Topics already checked against the recipe's grants: a component publishes on a
    /// handful of topics millions of times, and a name compare is cheaper than a filter match.
    private var allowedTopics: [String] = []
    /// The publish token bucket: tokens now, and when it was last filled.
    private var tokens: Double
    private var filledAt: Instant?
    /// Why a publish is refused, worded once per recipe: a flooding component is refused
    /// thousands of times a second, and each wording would build the recipe's identifier.
    private var refusals: (notGranted: String, overRate: String)

    init(recipe: ComponentRecipe, index: Int) {
        self.recipe = recipe
        baseRecipe = recipe
        self.index = index
        tokens = recipe.access.publishRateMax * AccessPolicy.burstSeconds
        refusals = Self.refusals(recipe)
    }

    private static func refusals(_ recipe: ComponentRecipe) -> (notGranted: String, overRate: String) {
        ("not granted by \(recipe.identifier)", "over \(recipe.identifier)'s publish rate of \(recipe.access.publishRateMax)/s")
    }

    /// A deployment puts another recipe in charge: its grants and rate apply from now on.
    func replaceRecipe(_ recipe: ComponentRecipe) {
        self.recipe = recipe
        allowedTopics = []
        tokens = recipe.access.publishRateMax * AccessPolicy.burstSeconds
        filledAt = nil
        refusals = Self.refusals(recipe)
    }

    /// Why the component cannot be stopped for a deployment now, or nil (docs/deployments.md: defer).
    func safePoint() -> String? { nil }

    /// Whether a message, timer or probe reaches the component now.
    var takesMessages: Bool { running && hungIncarnation != incarnation }


    /// A new run from the component's pristine value.
    func relaunch() {
        incarnation += 1
        running = true
        detached = false
        restore()
    }

    /// Empties the queue, returning the topics of what it held (oldest first).
    func discardQueue() -> [Topic] {
        defer {
            queue.removeAll(keepingCapacity: false)
            queueHead = 0
        }
        return queue[queueHead...].map(\.topic)
    }

    func restore() { preconditionFailure("Slot overrides restore") }
    func handle(_ event: HostEvent, node: HubNode, now: Instant) { preconditionFailure("Slot overrides handle") }
    func fire(_ payload: any Sendable, node: HubNode, now: Instant) { preconditionFailure("Slot overrides fire") }

    /// Queues a message; returns the topic of the oldest one when the queue was full and it was dropped.
    func enqueue(_ delivery: BusDelivery) -> Topic? {
        var dropped: Topic?
        if queue.count - queueHead >= recipe.access.queueCountMax {
            dropped = queue[queueHead].topic
            queueHead += 1
        }
        queue.append(delivery)
        if queueHead > 1_024, queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return dropped
    }

    /// Puts `deliveries` back at the front of the queue, in order (messages to deliver again);
    /// over the bound, the oldest go. Returns the topics of those dropped.
    func requeue(_ deliveries: [BusDelivery]) -> [Topic] {
        guard !deliveries.isEmpty else { return [] }
        queue = deliveries + queue[queueHead...]
        queueHead = 0
        let excess = max(0, queue.count - recipe.access.queueCountMax)
        defer { queueHead = excess }
        return queue[..<excess].map(\.topic)
    }

    func dequeue() -> BusDelivery? {
        guard queueHead < queue.count else {
            queue.removeAll(keepingCapacity: false)
            queueHead = 0
            return nil
        }
        queueHead += 1
        return queue[queueHead - 1]
    }

    /// Whether the recipe grants a publish on `topic` and the rate allows one now; a refusal
    /// is counted and recorded by the node.
    func mayPublish(_ topic: Topic, node: HubNode, now: Instant) -> Bool { refusal(toPublish: topic, node: node, now: now) == nil }

    /// Why a publish on `topic` is refused now (counted and recorded by the node), or nil.
    func refusal(toPublish topic: Topic, node: HubNode, now: Instant) -> String? {
        if !allowedTopics.contains(topic.name) {
            guard recipe.access.mayPublish(topic) else {
                let reason = refusals.notGranted
                node.refused(recipe.name, operation: "publish", topic: topic.name, reason: reason, now: now)
                return reason
            }
            allowedTopics.append(topic.name)
        }
        let rate = recipe.access.publishRateMax
        if let filledAt {
            // Nanoseconds straight from the instants: `Duration` arithmetic goes through 128-bit
            // multiplications, and this runs on every publish.
            let seconds = Double(now.nanosecondsSinceEpoch &- filledAt.nanosecondsSinceEpoch) / 1e9
            tokens = min(rate * AccessPolicy.burstSeconds, tokens + seconds * rate)
        }
        filledAt = now
        guard tokens >= 1 else {
            let reason = refusals.overRate
            node.refused(recipe.name, operation: "publish", topic: topic.name, reason: reason, now: now)
            return reason
        }
        tokens -= 1
        return nil
    }
}

/// A component running as a value in the hub's process.
final class InProcessComponent: HostedComponent {
    /// The `ComponentBox` holding the value (for `HubNode.component(_:)`).
    let box: AnyObject
    private let handleHook: (HostEvent, InProcessComponent, HubNode, Instant) -> Void
    private let fireHook: (any Sendable, InProcessComponent, HubNode, Instant) -> Void
    private let restoreHook: () -> Void
    private let safePointHook: () -> String?
    /// The topics the component asks to hear (the recipe decides which it gets).
    let requestedSubscriptions: [TopicFilter]

    /// Made in `HubNode.add`, where `C` is known, so the closures run specialised code.
    init<C: HubComponent>(_ box: ComponentBox<C>, recipe: ComponentRecipe, index: Int) {
        self.box = box
        requestedSubscriptions = box.component.subscriptions
        safePointHook = { box.component.safePoint }
        handleHook = { event, host, node, now in box.handle(event, host: host, node: node, now: now) }
        fireHook = { payload, host, node, now in
            guard let timer = payload as? C.Timer else { preconditionFailure("timer \(payload) is not \(recipe.name)'s") }
            box.run(.timer(timer), host: host, node: node, now: now)
        }
        restoreHook = { box.restore() }
        super.init(recipe: recipe, index: index)
    }

    override func restore() { restoreHook() }
    override func safePoint() -> String? { safePointHook() }
    override func handle(_ event: HostEvent, node: HubNode, now: Instant) { handleHook(event, self, node, now) }
    override func fire(_ payload: any Sendable, node: HubNode, now: Instant) { fireHook(payload, self, node, now) }
}

/// The value of a component of type `C`, and the value it was added as.
final class ComponentBox<C: HubComponent> {
    // Unchecked exclusivity: only `run` and `restore` mutate `component`, and `run` never
    // re-enters for the same component (a component's publications reach other components;
    // its own completions are queued, not delivered inside the call).
    @exclusivity(unchecked) var component: C
    /// The value as added: a restart begins again from it, as a restarted process begins
    /// from its binary (durable state lives behind ports, such as the outbox).
    private let pristine: C

    init(component: C) {
        self.component = component
        pristine = component
    }

    func restore() { component = pristine }

    func handle(_ event: HostEvent, host: HostedComponent, node: HubNode, now: Instant) {
        switch event {
        case .start: run(.start, host: host, node: node, now: now)
        case .message(let delivery): run(.message(delivery.topic, delivery.message), host: host, node: node, now: now)
        case .completion(let completion): run(.completion(completion), host: host, node: node, now: now)
        case .input(let input): run(.input(input), host: host, node: node, now: now)
        case .command(let command): run(.command(command), host: host, node: node, now: now)
        }
    }

    /// Carries out the component's actions in order; a request a driver answers at once
    /// feeds its completion back, and the actions that brings join the end of the queue.
    func run(_ event: ComponentEvent<C.Timer>, host: HostedComponent, node: HubNode, now: Instant) {
        var pending = component.handle(event, now: now)
        var next = 0
        while next < pending.count {
            let action = pending[next]
            next += 1
            switch action {
            case .publish(let topic, let message):
                if host.mayPublish(topic, node: node, now: now) { node.publish(message, on: topic, from: host, now: now) }
            case .schedule(let timer, let at):
                node.schedule(HubTimer(component: host.index, incarnation: host.incarnation, payload: timer), at: at)
            case .record(let event):
                node.ports.history.record(event, at: now)
            case .request(let request):
                if let completion = node.perform(request, from: host.index, now: now) {
                    pending += component.handle(.completion(completion), now: now)
                }
            }
        }
    }
}
