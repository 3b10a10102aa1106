import HubCore

// Appliance failures: physics faults (`appliance.<id>.<failure>`) that make a simulated
// appliance break the way a real one does. Each model's file documents the physics of its
// own failures and where the figures come from; this file holds what they share.
//
// Severity: every failure has a severity in 0...1 that ramps linearly from 0 at the
// failure's start to 1 after `ramp` (at once with a zero ramp) and drops to 0 when it is
// repaired. What severity means is the model's: the share of the airflow a filter blocks,
// the chance an ignition trial fails, the size of a drum's extra imbalance, how worn a
// bearing is, how far a door stands open, the chance a compressor start fails.
//
// Timing: a failure is active on the half-open interval (start, end]. The physics reads
// severity only inside its fixed steps, at the step's own instant, so the state at an
// instant never depends on how often chips looked or whether they looked at the start
// instant itself before the failure was applied. Failures must be started and ended in
// time order and no later than the simulation clock; instants the physics has already
// stepped past keep what they were.

/// An appliance failure the simulator can inject (`appliance.<id>.<failure>`).
///
/// These are the ground truth the hub's anomaly detection is trained and judged against,
/// so each one changes its appliance's physics (airflow, ignition, imbalance, bearings,
/// door, compressor) rather than the readings: the signature the hub sees is whatever
/// the broken appliance would really do to the air and the cabinet.
public enum ApplianceFailure: String, CaseIterable, Sendable {
    /// Furnace: a clogged return filter starves the blower of air.
    case blockedFilter = "blocked-filter"
    /// Furnace: the hot-surface igniter no longer lights the gas.
    case igniterFailure = "igniter-failure"
    /// Washer: the drum itself is out of balance (a loose or cracked counterweight).
    case drumImbalance = "drum-imbalance"
    /// Washer: the drum's main bearing is worn.
    case bearingWear = "bearing-wear"
    /// Fridge: the fresh-food door is left ajar.
    case doorOpen = "door-open"
    /// Fridge: the compressor no longer starts.
    case compressorFailure = "compressor-failure"

    /// The appliance kind that can develop this failure.
    public var kind: ApplianceKind {
        switch self {
        case .blockedFilter, .igniterFailure: .furnace
        case .drumImbalance, .bearingWear: .washer
        case .doorOpen, .compressorFailure: .fridge
        }
    }
}

extension ApplianceFailure {
    /// Position in `allCases`, without building the array (physics asks every step).
    var ordinal: Int {
        switch self {
        case .blockedFilter: 0
        case .igniterFailure: 1
        case .drumImbalance: 2
        case .bearingWear: 3
        case .doorOpen: 4
        case .compressorFailure: 5
        }
    }
}

/// A model that can develop failures.
///
/// Start and end calls come from a scenario's timeline (or a test) at fixed instants, in
/// time order; the model applies them inside its fixed physics steps, so a run stays
/// reproducible from its seed whatever the hub reads and when.
public protocol FailureInjectable: FaultApplying {
    /// Starts `failure` at `instant`; its severity ramps linearly from 0 to 1 over `ramp` (zero: at once).
    func startFailure(_ failure: ApplianceFailure, at instant: Instant, ramp: Duration)
    /// Ends it (repaired) at `instant`.
    func endFailure(_ failure: ApplianceFailure, at instant: Instant)
    /// The severity (0...1) the physics uses for `failure` at `instant`: 0 when it is not
    /// active. A pure function of the calls made so far, for labelling ground truth.
    func severity(of failure: ApplianceFailure, at instant: Instant) -> Double
    /// Every episode of `failure` so far, in order: its start, and the instant the physics
    /// first let it show (nil: not yet, or never before it was repaired). What "show" means
    /// is the model's (its header says): a washer's first drum rotation after onset, a
    /// furnace's first ignition trial, a fridge door at once. Evaluation measures detection
    /// delay from there as well as from the start, since no detector can see a failure the
    /// appliance has not yet acted out.
    func observability(of failure: ApplianceFailure) -> [FailureObservability]
}

/// When one failure episode started and when it first became observable in the physics.
public struct FailureObservability: Equatable, Sendable {
    public let start: Instant
    public let observable: Instant?
}

extension FailureInjectable {
    /// The appliance failures (`appliance.<device>.<failure>`), ramping in over the fault's `ramp`.
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .appliance(_, let failure, let ramp) = fault else { preconditionFailure("\(fault.name) routed to an appliance") }
        if active { startFailure(failure, at: now, ramp: ramp) } else { endFailure(failure, at: now) }
    }

    /// Starts `failure` at full severity at `instant`.
    public func startFailure(_ failure: ApplianceFailure, at instant: Instant) {
        startFailure(failure, at: instant, ramp: .zero)
    }
}

/// A model whose failures are kept in a `FailureSchedule`, which answers the whole of
/// `FailureInjectable` for it.
///
/// Every appliance model keeps its failures the same way and differs only in what its
/// physics does with the severity, so the four requirements are written once here rather
/// than forwarded by hand in each model. Internal, so the schedule stays the model's own:
/// outside the module a model is only `FailureInjectable`.
protocol ScheduledFailures: FailureInjectable {
    var failures: FailureSchedule { get set }
}

extension ScheduledFailures {
    public func startFailure(_ failure: ApplianceFailure, at instant: Instant, ramp: Duration) {
        failures.start(failure, at: instant, ramp: ramp)
    }

    public func endFailure(_ failure: ApplianceFailure, at instant: Instant) {
        failures.end(failure, at: instant)
    }

    public func severity(of failure: ApplianceFailure, at instant: Instant) -> Double {
        failures.severity(failure, at: instant)
    }

    public func observability(of failure: ApplianceFailure) -> [FailureObservability] {
        failures.observability(failure)
    }
}

/// Start, ramp and repair of each failure of one model: severity as a function of the instant.
///
/// An array of episodes per failure (indexed in `ApplianceFailure.allCases` order), never a
/// dictionary, so nothing depends on hashing order.
struct FailureSchedule {
    private struct Episode {
        var start: Int64
        var ramp: Int64
        var end: Int64?
        /// The first instant the physics acted the failure out (see `markObservable`).
        var observable: Int64?
    }

    let kind: ApplianceKind
    private var episodes: [[Episode]]
    /// Whether any failure was ever started: models skip failure physics entirely until then.
    private(set) var everStarted = false

    init(kind: ApplianceKind) {
        self.kind = kind
        episodes = Array(repeating: [], count: ApplianceFailure.allCases.count)
    }

    private func index(_ failure: ApplianceFailure) -> Int {
        precondition(failure.kind == kind, "\(failure.rawValue) is a \(failure.kind) failure, not a \(kind) one")
        return failure.ordinal
    }

    /// Starts an episode; starting a failure that is already active ends that episode at
    /// `instant` and ramps the new one from zero.
    mutating func start(_ failure: ApplianceFailure, at instant: Instant, ramp: Duration) {
        let i = index(failure)
        let at = instant.nanosecondsSinceEpoch
        precondition(ramp >= .zero, "a ramp cannot be negative")
        if let last = episodes[i].last {
            precondition(at >= last.start && (last.end.map { at >= $0 } ?? true),
                         "\(failure.rawValue): failures must be started and ended in time order")
            if last.end == nil { episodes[i][episodes[i].count - 1].end = at }
        }
        episodes[i].append(Episode(start: at, ramp: ramp.nanoseconds, end: nil, observable: nil))
        everStarted = true
    }

    /// Ends the active episode at `instant` (nothing if none is active).
    mutating func end(_ failure: ApplianceFailure, at instant: Instant) {
        let i = index(failure)
        guard let last = episodes[i].last, last.end == nil else { return }
        precondition(instant.nanosecondsSinceEpoch >= last.start, "\(failure.rawValue): ended before it started")
        episodes[i][episodes[i].count - 1].end = instant.nanosecondsSinceEpoch
    }

    /// Records that the physics acted `failure` out at `instant` (a model calls this where
    /// the failure first changes what the appliance does); only the first call of an active
    /// episode counts.
    mutating func markObservable(_ failure: ApplianceFailure, at instant: Instant) {
        let i = index(failure)
        guard let last = episodes[i].last, last.observable == nil, last.start < instant.nanosecondsSinceEpoch,
              last.end.map({ instant.nanosecondsSinceEpoch <= $0 }) ?? true else { return }
        episodes[i][episodes[i].count - 1].observable = instant.nanosecondsSinceEpoch
    }

    /// Every episode of `failure`: its start and when it became observable.
    func observability(_ failure: ApplianceFailure) -> [FailureObservability] {
        episodes[index(failure)].map { episode in
            FailureObservability(start: Instant(nanosecondsSinceEpoch: episode.start),
                                 observable: episode.observable.map { Instant(nanosecondsSinceEpoch: $0) })
        }
    }

    /// Severity at `instant`: 0 outside (start, end], otherwise the ramp's progress.
    func severity(_ failure: ApplianceFailure, at instant: Instant) -> Double {
        let t = instant.nanosecondsSinceEpoch
        for episode in episodes[index(failure)].reversed() where episode.start < t {
            if let end = episode.end, t > end { return 0 }
            if episode.ramp <= 0 { return 1 }
            return min(1, Double(t - episode.start) / Double(episode.ramp))
        }
        return 0
    }
}

extension ApplianceFailure {
    /// One fault kind per failure (`appliance.<device>.<failure>`), applied by the appliance's model.
    public static let faultKinds: [FaultKind] = allCases.map { failure in
        FaultKind(layer: "appliance", name: failure.rawValue,
                  parameters: [FaultParameter("ramp", .duration(.zero...DurationText.maximum), default: "0s",
                                              summary: "time from onset to full severity")],
                  summary: "\(failure.kind.rawValue): \(failure.summary)", port: failure.modelName) {
            .appliance(device: $0.device, failure, ramp: $1.duration("ramp"))
        }
    }

    /// What the failure does, in a line (the physics is at the top of the model's file).
    public var summary: String {
        switch self {
        case .blockedFilter: "a clogged return filter starves the blower of air"
        case .igniterFailure: "the hot-surface igniter no longer lights the gas"
        case .drumImbalance: "the drum itself is out of balance (a loose counterweight)"
        case .bearingWear: "the drum's main bearing wears"
        case .doorOpen: "the fresh-food door is left ajar"
        case .compressorFailure: "the compressor no longer starts"
        }
    }

    var modelName: String {
        switch kind {
        case .furnace: "FurnaceModel"
        case .washer: "WasherModel"
        case .fridge: "FridgeModel"
        }
    }
}
