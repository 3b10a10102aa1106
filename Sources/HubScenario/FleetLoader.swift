import Foundation
import HubCore
import HubSim
import HubYAML

/// Reads a fleet file (YAML, docs/fleet.md) into a `Fleet`, or an error naming file, line,
/// column and field.
///
/// Strict for the scenario loader's reason: a typo silently ignored would test nothing.
/// Its `hub:` section is a scenario's (`ScenarioLoader.parseHub`), so a hub is set up the
/// same way in both.
public enum FleetLoader {
    public static let maximumFileBytes = 1024 * 1024

    /// The ranges numeric fleet fields must lie in.
    public enum Limits {
        public static let hubs: ClosedRange<Int> = 1...100_000
        public static let epoch: ClosedRange<Duration> = .seconds(1)...Duration.seconds(3600)
        public static let watch: ClosedRange<Duration> = .seconds(1)...Duration.seconds(30 * 86_400)
        public static let groups: ClosedRange<Int> = 1...100
    }

    /// Loads the fleet file at `path`; `models` is `--models DIR` (see `ModelSearch`), and
    /// `hubs` replaces the file's hub count (the rollout's groups are checked against it).
    public static func load(path: String, models: String? = nil, hubs: Int? = nil) throws(ScenarioError) -> Fleet {
        try parse(bytes: try YAMLDocument.bytes(atPath: path, maximumBytes: maximumFileBytes), file: path, models: models, hubs: hubs)
    }

    public static func parse(bytes: [UInt8], file: String, models: String? = nil, hubs: Int? = nil) throws(ScenarioError) -> Fleet {
        guard let node = try YAMLDocument.root(bytes: bytes, file: file) else {
            throw ScenarioError(file: file, line: nil, column: nil, field: nil, message: "empty fleet file")
        }
        return try parse(root: node, file: file, models: models, hubs: hubs)
    }

    public static func parse(_ text: String, file: String, models: String? = nil, hubs: Int? = nil) throws(ScenarioError) -> Fleet {
        try parse(bytes: Array(text.utf8), file: file, models: models, hubs: hubs)
    }

    private static func parse(root node: YAMLValue, file: String, models: String?, hubs override: Int?) throws(ScenarioError) -> Fleet {
        let root = try node.map()
        try root.finish(known: ["name", "seed", "start", "hubs", "duration", "epoch", "hub", "rollout", "expect"])
        let name = try ScenarioName.validate(try root.required("name"))
        let hubsValue = try root.required("hubs")
        var hubs = try hubsValue.int(in: Limits.hubs)
        if let override {
            guard Limits.hubs.contains(override) else { throw hubsValue.error("--hubs \(override) is outside \(Limits.hubs.lowerBound)...\(Limits.hubs.upperBound)") }
            hubs = override
        }
        let duration = try root.required("duration").duration(in: ScenarioLoader.Limits.duration)
        let hub = try ScenarioLoader.parseHub(try root.required("hub"), file: file, models: models)
        var start = SimulationSetup.defaultStart
        if let value = root.optional("start") { start = try ScenarioLoader.parseStart(value) }
        let setup = ScenarioLoader.Setup(appliances: hub.appliances, duration: duration)
        let rollout = try root.optional("rollout").map { (value) throws(ScenarioError) in
            try parseRollout(value, hubs: hubs, setup: setup)
        }
        let expectations = try root.optional("expect").map { (value) throws(ScenarioError) in
            try parseExpectations(value, hasRollout: rollout != nil)
        } ?? []
        return Fleet(name: name, file: file, seed: try root.required("seed").uint64(), start: start, hubs: hubs, duration: duration,
                     epoch: try root.optional("epoch")?.duration(in: Limits.epoch) ?? Fleet.defaultEpoch,
                     thingPrefix: hub.thing, pollInterval: hub.pollInterval, telemetryBatching: hub.batching,
                     appliances: hub.appliances, rollout: rollout, expectations: expectations)
    }

    private static func parseRollout(_ value: YAMLValue, hubs: Int, setup: ScenarioLoader.Setup) throws(ScenarioError) -> Fleet.Rollout {
        let map = try value.map()
        try map.finish(known: ["at", "deployment", "rollback_deployment", "faults", "canary", "waves", "watch", "until", "failure_threshold"])
        let atValue = try map.required("at")
        let at = try atValue.duration()
        guard at < setup.duration else { throw atValue.error("the rollout starts at or after the fleet's end (\(DurationText.format(setup.duration)))") }
        let deployment = try ScenarioLoader.parseDeploymentSpec(try map.required("deployment"), setup)
        let rollbackValue = map.optional("rollback_deployment")
        let rollback = try rollbackValue.map { (value) throws(ScenarioError) in try ScenarioLoader.parseDeploymentSpec(value, setup) }
        if let rollback, rollback.id == deployment.id {
            throw rollbackValue!.error("the rollback needs its own id, not \(rollback.id.debugDescription)")
        }
        var faults: [(fault: SimFault, share: Double)] = []
        for item in try map.optional("faults")?.list() ?? [] {
            let entry = try item.map()
            try entry.finish(known: ["fault", "hubs"])
            let faultValue = try entry.required("fault")
            let name = try faultValue.string()
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["deploy", "host"].contains(parts[0]), parts[1] != "power-loss",
                  let kind = FaultCatalogue.kind(layer: parts[0], name: parts[1]) else {
                let known = FaultCatalogue.all.filter { ["deploy", "host"].contains($0.layer) && $0.name != "power-loss" }.map(\.pattern)
                throw faultValue.error("a rollout fault is one of \(known.joined(separator: ", ")), not \(name.debugDescription)")
            }
            let share: Double
            switch try groupSize(try entry.required("hubs"), allowsRest: false) {
            case .fraction(let fraction): share = fraction
            case .count(let count): share = min(1, Double(count) / Double(hubs))
            case .rest: share = 1
            }
            faults.append((kind.fault(.hub, [:]), share))
        }
        let canaryValue = try map.required("canary")
        let canary = try groupSize(canaryValue, allowsRest: false)
        var targeted = canary.resolve(hubs: hubs, targeted: 0)
        guard targeted <= hubs else { throw canaryValue.error("\(targeted) hubs, the fleet has \(hubs)") }
        let wavesValue = try map.required("waves")
        let items = try wavesValue.list()
        guard items.count + 1 <= Limits.groups.upperBound else { throw wavesValue.error("more than \(Limits.groups.upperBound - 1) waves") }
        var waves: [Fleet.GroupSize] = []
        for (index, item) in items.enumerated() {
            let size = try groupSize(item, allowsRest: index == items.count - 1)
            let count = size.resolve(hubs: hubs, targeted: targeted)
            guard count >= 1, targeted + count <= hubs else {
                throw item.error("this wave would take \(count) more hubs after \(targeted) of \(hubs); every wave takes at least one, within the fleet")
            }
            targeted += count
            waves.append(size)
        }
        guard targeted == hubs else {
            throw wavesValue.error("the canary and waves reach \(targeted) of \(hubs) hubs: end the waves with 'rest' or sizes that add up")
        }
        let untilValue = map.optional("until")
        let until = try untilValue?.string() ?? "terminal"
        guard ["terminal", "watch"].contains(until) else {
            throw untilValue!.error("expected 'terminal' (a wave ends when all its hubs reported, 'watch' at the latest) or 'watch' (a wave is watched for 'watch'), found \(until.debugDescription)")
        }
        return Fleet.Rollout(at: at, deployment: deployment, rollbackDeployment: rollback, faults: faults, canary: canary, waves: waves,
                             watch: try map.required("watch").duration(in: Limits.watch), untilTerminal: until == "terminal",
                             threshold: try map.optional("failure_threshold")?.double(in: 0...1) ?? RolloutController.Plan.defaultThreshold)
    }

    /// `N` hubs, a share `0.25` (a number with a point, in (0, 1]), a percentage `25%`, or `rest`.
    private static func groupSize(_ value: YAMLValue, allowsRest: Bool) throws(ScenarioError) -> Fleet.GroupSize {
        let text = try value.string()
        if text == "rest" {
            guard allowsRest else { throw value.error("'rest' is only for the last wave") }
            return .rest
        }
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent.isFinite, percent > 0, percent <= 100 else {
                throw value.error("expected a percentage in (0, 100]%, found \(text.debugDescription)")
            }
            return .fraction(percent / 100)
        }
        if text.contains(".") || text.contains("e") || text.contains("E") {
            guard let share = Double(text), share.isFinite, share > 0, share <= 1 else {
                throw value.error("expected a share of the fleet in (0, 1], found \(text.debugDescription)")
            }
            return .fraction(share)
        }
        return .count(try value.int(in: Limits.hubs))
    }

    private static func parseExpectations(_ value: YAMLValue, hasRollout: Bool) throws(ScenarioError) -> [Fleet.Expectation] {
        let map = try value.map()
        try map.finish(known: ["outcome", "restored_within"])
        guard hasRollout else { throw value.error("expectations judge a rollout, and this fleet has none") }
        var expectations: [Fleet.Expectation] = []
        if let outcomeValue = map.optional("outcome") {
            let outcome = try outcomeValue.string()
            guard ["completed", "rolled-back"].contains(outcome) else {
                throw outcomeValue.error("expected 'completed' or 'rolled-back', found \(outcome.debugDescription)")
            }
            expectations.append(.outcome(outcome))
        }
        if let within = map.optional("restored_within") {
            expectations.append(.restoredWithin(try within.duration(in: ScenarioLoader.Limits.span)))
        }
        return expectations
    }
}
