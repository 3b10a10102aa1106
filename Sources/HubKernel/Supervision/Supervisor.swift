import HubCore

/// The hub's nucleus as a state machine: it starts components in dependency order, probes
/// their health, restarts failed ones with exponential backoff, gives up on one that keeps
/// failing (broken), and stops them in reverse order.
///
/// It does no I/O and reads no clock: the host tells it what happened (a component is up,
/// exited, answered a probe, a timer came due) with the instant, and carries out the
/// actions it returns (launch, terminate, probe, schedule, report). So the same logic runs
/// over in-process components in the simulator and over child processes in live mode, and
/// its tests step it with hand-picked instants.
///
/// A failing component never takes the others down: dependents that already run keep
/// running (the bus queues what they send it), and only components not yet started wait
/// for their dependencies.
public struct Supervisor: Sendable {
    /// Where a component is in its life.
    public enum State: String, Sendable, CaseIterable {
        /// Not started: its dependencies are not all running yet.
        case waiting
        /// Launched, not yet reported up.
        case starting
        case running
        /// Failed; a restart is scheduled.
        case errored
        /// Failed `failuresMax` times within `failureWindow`: left stopped.
        case broken
        case stopped
    }

    /// The supervisor's timers. A component's carry the launch they belong to, so a timer
    /// set for an earlier run of the component is recognised and ignored.
    ///
    /// Probes go out in rounds: one timer every `roundInterval` (the shortest probe interval
    /// of any recipe) probes each running component whose own interval has passed. A hub of
    /// many components sets one timer per round instead of one per component.
    public enum Timer: Equatable, Sendable {
        case restart(component: String, launch: Int)
        case probeRound
        case probeDeadline(component: String, launch: Int, probe: Int)
    }

    /// What the host reports.
    public enum Event: Equatable, Sendable {
        /// The launched component is up and taking messages.
        case started(String)
        /// The component ended on its own (a crash, an exit, a process killed).
        case exited(String, reason: String)
        /// The component answered probe number `probe`.
        case probeAnswered(String, probe: Int)
        case timer(Timer)
    }

    /// What the host must do.
    public enum Action: Equatable, Sendable {
        /// Start the component named here (its recipe is the host's).
        case launch(String)
        case terminate(String, reason: String)
        /// Ask the component whether it is alive: answer `probeAnswered` at once if it can,
        /// else schedule `deadline` at `at` (a host whose components answer synchronously
        /// never needs the deadline's timer).
        case probe(String, probe: Int, deadline: Timer, at: Instant)
        case schedule(Timer, at: Instant)
        case stateChanged(component: String, from: State, to: State, reason: String)
    }

    /// One component's book.
    public struct Entry: Sendable {
        public fileprivate(set) var recipe: ComponentRecipe
        public fileprivate(set) var state: State = .waiting
        /// Failures within the recent window, oldest first.
        public fileprivate(set) var failures: [Instant] = []
        /// Restarts so far.
        public fileprivate(set) var restarts = 0
        /// Which launch is current (timers of older ones are stale).
        fileprivate var launch = 0
        fileprivate var probeOutstanding: Int?
        fileprivate var probeCount = 0
        /// When the running component is due for its next probe.
        fileprivate var nextProbe: Instant?
    }

    public private(set) var entries: [Entry]
    private var stopping = false
    /// The time between probe rounds: the shortest probe interval of any recipe.
    public let roundInterval: Duration
    private var roundScheduled = false

    public init(recipes: RecipeSet) {
        entries = recipes.ordered.map { Entry(recipe: $0) }
        roundInterval = recipes.ordered.map(\.health.probeInterval).min() ?? .seconds(30)
    }

    public func state(of name: String) -> State? { entries.first { $0.recipe.name == name }?.state }

    /// Launches every component whose dependencies are running (at first: those without any).
    public mutating func start(now: Instant) -> [Action] {
        stopping = false
        return launchReady(now: now)
    }

    /// Stops every component, dependents first.
    public mutating func stop(now: Instant) -> [Action] {
        stopping = true
        var actions: [Action] = []
        for index in entries.indices.reversed() {
            let state = entries[index].state
            guard state != .stopped else { continue }
            entries[index].launch += 1
            entries[index].probeOutstanding = nil
            if state == .starting || state == .running {
                actions.append(.terminate(entries[index].recipe.name, reason: "hub stopping"))
            }
            actions.append(transition(index, to: .stopped, reason: "hub stopping"))
        }
        return actions
    }

    /// The probe of `name` still waiting for its answer, if any (a component that reconnects
    /// over IPC is asked again: the first question may have been lost with the connection).
    public func outstandingProbe(of name: String) -> Int? {
        index(of: name).flatMap { entries[$0].probeOutstanding }
    }

    /// Puts `recipes` in charge (a deployment, or its rollback): each component whose recipe
    /// changed is stopped if it runs and started again under the new one, with its failure
    /// count cleared (a new version starts with a clean slate); a component new to the set
    /// waits for its dependencies like any other. Unchanged components run on untouched.
    public mutating func redeploy(_ recipes: RecipeSet, now: Instant) -> [Action] {
        var actions: [Action] = []
        var next: [Entry] = []
        for recipe in recipes.ordered {
            guard let index = index(of: recipe.name) else {
                next.append(Entry(recipe: recipe))
                continue
            }
            var entry = entries[index]
            if entry.recipe != recipe {
                entry.launch += 1
                entry.probeOutstanding = nil
                entry.nextProbe = nil
                entry.failures = []
                entry.restarts = 0
                if entry.state == .starting || entry.state == .running {
                    actions.append(.terminate(recipe.name, reason: "replaced by \(recipe.identifier)"))
                }
                let reason = entry.recipe.version == recipe.version ? "\(recipe.identifier) reconfigured" : "\(entry.recipe.identifier) → \(recipe.version)"
                entry.recipe = recipe
                let from = entry.state
                entry.state = .waiting
                actions.append(.stateChanged(component: recipe.name, from: from, to: .waiting, reason: reason))
            }
            next.append(entry)
        }
        precondition(entries.allSatisfy { recipes.recipe(named: $0.recipe.name) != nil }, "a deployment adds and changes components, never removes one")
        entries = next
        return actions + launchReady(now: now)
    }

    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        switch event {
        case .started(let name):
            guard let index = index(of: name), entries[index].state == .starting else { return [] }
            entries[index].probeOutstanding = nil
            entries[index].nextProbe = now + entries[index].recipe.health.probeInterval
            var actions = [transition(index, to: .running, reason: entries[index].restarts == 0 ? "started" : "restarted")]
            if !roundScheduled {
                roundScheduled = true
                actions.append(.schedule(.probeRound, at: now + roundInterval))
            }
            return actions + launchReady(now: now)
        case .exited(let name, let reason):
            guard let index = index(of: name), [.starting, .running].contains(entries[index].state) else { return [] }
            return fail(index, reason: reason, terminate: false, now: now)
        case .probeAnswered(let name, let probe):
            guard let index = index(of: name), entries[index].probeOutstanding == probe else { return [] }
            entries[index].probeOutstanding = nil
            return []
        case .timer(let timer):
            return fire(timer, now: now)
        }
    }

    private mutating func fire(_ timer: Timer, now: Instant) -> [Action] {
        switch timer {
        case .restart(let name, let launch):
            guard let index = index(of: name), entries[index].launch == launch, entries[index].state == .errored, !stopping else { return [] }
            entries[index].restarts += 1
            return relaunch(index, reason: "restart \(entries[index].restarts)")
        case .probeRound:
            roundScheduled = false
            guard !stopping else { return [] }
            var actions: [Action] = []
            for index in entries.indices where entries[index].state == .running {
                // A probe still unanswered has its own deadline; the next waits for it.
                guard let due = entries[index].nextProbe, due <= now, entries[index].probeOutstanding == nil else { continue }
                let health = entries[index].recipe.health
                entries[index].nextProbe = now + health.probeInterval
                entries[index].probeCount += 1
                let probe = entries[index].probeCount
                entries[index].probeOutstanding = probe
                let name = entries[index].recipe.name
                actions.append(.probe(name, probe: probe, deadline: .probeDeadline(component: name, launch: entries[index].launch, probe: probe),
                                      at: now + health.probeTimeout))
            }
            roundScheduled = true
            actions.insert(.schedule(.probeRound, at: now + roundInterval), at: 0)
            return actions
        case .probeDeadline(let name, let launch, let probe):
            guard let index = index(of: name), entries[index].launch == launch, entries[index].state == .running,
                  entries[index].probeOutstanding == probe else { return [] }
            let timeout = entries[index].recipe.health.probeTimeout
            return fail(index, reason: "no answer to a health probe within \(DurationText.format(timeout))", terminate: true, now: now)
        }
    }

    /// A failure: count it, then either give up (broken) or schedule the next restart.
    private mutating func fail(_ index: Int, reason: String, terminate: Bool, now: Instant) -> [Action] {
        let name = entries[index].recipe.name
        let health = entries[index].recipe.health
        entries[index].launch += 1
        entries[index].probeOutstanding = nil
        entries[index].failures.removeAll { now - $0 >= health.failureWindow }
        entries[index].failures.append(now)
        var actions: [Action] = terminate ? [.terminate(name, reason: reason)] : []
        let failures = entries[index].failures.count
        if failures >= health.failuresMax {
            actions.append(transition(index, to: .broken,
                                      reason: "\(reason); \(failures) failures within \(DurationText.format(health.failureWindow))"))
            return actions
        }
        let delay = health.restartDelay(afterFailures: failures)
        actions.append(transition(index, to: .errored, reason: "\(reason); restart in \(DurationText.format(delay))"))
        actions.append(.schedule(.restart(component: name, launch: entries[index].launch), at: now + delay))
        return actions
    }

    private mutating func launchReady(now: Instant) -> [Action] {
        guard !stopping else { return [] }
        var actions: [Action] = []
        for index in entries.indices where entries[index].state == .waiting {
            let ready = entries[index].recipe.dependencies.allSatisfy { dependency in state(of: dependency.name) == .running }
            if ready { actions += relaunch(index, reason: "dependencies running") }
        }
        return actions
    }

    private mutating func relaunch(_ index: Int, reason: String) -> [Action] {
        entries[index].launch += 1
        return [transition(index, to: .starting, reason: reason), .launch(entries[index].recipe.name)]
    }

    private mutating func transition(_ index: Int, to state: State, reason: String) -> Action {
        let from = entries[index].state
        entries[index].state = state
        return .stateChanged(component: entries[index].recipe.name, from: from, to: state, reason: reason)
    }

    private func index(of name: String) -> Int? { entries.firstIndex { $0.recipe.name == name } }
}
