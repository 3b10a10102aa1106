import HubCore
import HubKernel
import HubSim

/// A simulated fleet: N hubs set up alike, each in its own world with its own seed, one
/// simulated cloud, and optionally a rollout of a deployment over them (docs/fleet.md).
///
/// Why a file of its own rather than a scenario: a scenario judges one hub's history; a
/// fleet file judges what the cloud sees of many hubs (waves, failure ratios, the
/// rollback). `FleetLoader` reads it, `FleetRunner` runs it.
public struct Fleet: Sendable {
    /// How many hubs a canary group or a wave takes.
    public enum GroupSize: Equatable, Sendable {
        case count(Int)
        /// A share of the fleet, in (0, 1]; at least one hub.
        case fraction(Double)
        /// Every hub not yet targeted (the last wave only).
        case rest

        /// The number of hubs in a fleet of `hubs` of which `targeted` already have it.
        func resolve(hubs: Int, targeted: Int) -> Int {
            switch self {
            case .count(let count): count
            case .fraction(let share): max(1, Int((share * Double(hubs)).rounded()))
            case .rest: hubs - targeted
            }
        }
    }

    /// The deployment going out, and how.
    public struct Rollout: Sendable {
        /// After the fleet's start.
        public var at: Duration
        /// The deployment the cloud publishes (to each hub's bucket, then its document).
        public var deployment: DeploymentSpec
        /// The deployment that restores the previous configuration; nil: derived (`FleetRunner.rollbackSpec`).
        public var rollbackDeployment: DeploymentSpec?
        /// Deployment faults on a share of the hubs from the rollout's start (a build that
        /// crashes on some hardware): which hubs is drawn from the fleet's seed.
        public var faults: [(fault: SimFault, share: Double)]
        public var canary: GroupSize
        public var waves: [GroupSize]
        public var watch: Duration
        public var untilTerminal: Bool
        public var threshold: Double

        public var deploymentID: String { deployment.id }
    }

    /// What must hold after the run.
    public enum Expectation: Equatable, Sendable {
        /// The rollout ended so: `completed` or `rolled-back`.
        case outcome(String)
        /// The fleet was restored (every hub that had committed committed the rollback)
        /// within this of the rollout's start.
        case restoredWithin(Duration)

        public var label: String {
            switch self {
            case .outcome(let outcome): "outcome(\(outcome))"
            case .restoredWithin(let span): "restored-within(\(DurationText.format(span)))"
            }
        }
    }

    public var name: String
    public var file: String
    public var seed: UInt64
    public var start: Instant
    public var hubs: Int
    public var duration: Duration
    /// The lockstep: hubs run independently for an epoch, the cloud acts between epochs.
    public var epoch: Duration
    /// Hub `i`'s thing is `<thingPrefix>-<i>`.
    public var thingPrefix: String
    public var pollInterval: Duration
    public var telemetryBatching: TelemetryBatching?
    public var appliances: [Scenario.Appliance]
    public var rollout: Rollout?
    public var expectations: [Expectation]

    public static let defaultEpoch: Duration = .seconds(60)

    /// Hub `index`'s seed, split from the fleet's seed: another hub count leaves each hub's seed as it was.
    public func seed(ofHub index: Int) -> UInt64 {
        var root = SeededRandom(seed: seed)
        var stream = root.split("fleet.hub.\(index)")
        return stream.next()
    }

    public func thing(ofHub index: Int) -> String { "\(thingPrefix)-\(index)" }

    /// Whether rollout fault `number` (of `Rollout.faults`) affects hub `index`: a draw from
    /// the fleet's seed, so the same hubs are hit whatever the thread count.
    public func isHit(hub index: Int, fault number: Int) -> Bool {
        guard let rollout, number < rollout.faults.count else { return false }
        var root = SeededRandom(seed: seed)
        var stream = root.split("fleet.fault.\(number).hub.\(index)")
        return stream.nextDouble() < rollout.faults[number].share
    }

    /// Hub `index`'s simulation.
    public func simulationSetup(hub index: Int) -> SimulationSetup {
        SimulationSetup(seed: seed(ofHub: index), start: start, duration: duration,
                        hub: Scenario.hubConfig(thing: thing(ofHub: index), appliances: appliances, pollInterval: pollInterval,
                                                telemetryBatching: telemetryBatching, start: start))
    }

    /// The controller's plan, the group sizes resolved against the fleet.
    public func plan() -> RolloutController.Plan? {
        guard let rollout else { return nil }
        var groups: [Int] = []
        for size in [rollout.canary] + rollout.waves {
            groups.append(size.resolve(hubs: hubs, targeted: groups.reduce(0, +)))
        }
        return RolloutController.Plan(deploymentID: rollout.deploymentID, rollbackID: rollout.rollbackDeployment?.id, hubs: hubs, groups: groups,
                                      watch: rollout.watch, untilTerminal: rollout.untilTerminal, threshold: rollout.threshold)
    }
}
