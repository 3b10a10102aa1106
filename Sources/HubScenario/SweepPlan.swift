/// Which (scenario, seed) runs a sweep makes, and how a sweep is split into shards.
///
/// A CI matrix gives each machine `--shard K/N`; every machine computes the same plan from
/// the same catalogue and seeds and keeps its own part, so shards never overlap, together
/// cover every run, and need no coordination. Runs are dealt out by simulated cost — the
/// readings the run simulates: its duration over the poll interval, times the appliances
/// (at least one) — longest first, each to the shard with the least cost so far (ties to
/// the lower shard). That keeps the shards even when one scenario is a three-day soak and
/// another thirty minutes, and splits the seeds of one scenario across shards too.
public struct SweepPlan: Sendable, Equatable {
    /// One run of a sweep: the scenario's index in the catalogue order, and its seed.
    public struct Run: Sendable, Equatable, Hashable {
        public let scenario: Int
        public let seed: UInt64
    }

    public let runs: [Run]

    /// Every scenario under every seed of `seeds`, or under its own seed when nil.
    public init(_ scenarios: [Scenario], seeds: [UInt64]?) {
        runs = scenarios.indices.flatMap { index in (seeds ?? [scenarios[index].seed]).map { Run(scenario: index, seed: $0) } }
    }

    init(runs: [Run]) { self.runs = runs }

    /// The simulated cost of one run of `scenario`, in simulated readings.
    public static func cost(_ scenario: Scenario) -> Int64 {
        let polls = max(1, scenario.duration.components.seconds / max(1, scenario.pollInterval.components.seconds))
        return polls * Int64(max(1, scenario.appliances.count))
    }

    /// Shard `shard` (1-based) of `count`: its runs in plan order.
    public func shard(_ shard: Int, of count: Int, scenarios: [Scenario]) -> SweepPlan {
        precondition(count >= 1 && (1...count).contains(shard))
        let costs = runs.map { Self.cost(scenarios[$0.scenario]) }
        let order = runs.indices.sorted { a, b in costs[a] != costs[b] ? costs[a] > costs[b] : a < b }
        var load = [Int64](repeating: 0, count: count)
        var owner = [Int](repeating: 0, count: runs.count)
        for index in order {
            let lightest = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            owner[index] = lightest
            load[lightest] += costs[index]
        }
        return SweepPlan(runs: runs.indices.filter { owner[$0] == shard - 1 }.map { runs[$0] })
    }

    /// The simulated cost of all runs of the plan.
    public func cost(_ scenarios: [Scenario]) -> Int64 { runs.reduce(0) { $0 + Self.cost(scenarios[$1.scenario]) } }

    /// Reads `K/N` (1 ≤ K ≤ N ≤ 1000).
    public static func parseShard(_ text: String) throws(ShardError) -> (shard: Int, count: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let shard = Int(parts[0]), let count = Int(parts[1]) else {
            throw ShardError(text: text, reason: "expected K/N, for example 2/4")
        }
        guard (1...1000).contains(count) else { throw ShardError(text: text, reason: "N must be within 1...1000") }
        guard (1...count).contains(shard) else { throw ShardError(text: text, reason: "K must be within 1...\(count)") }
        return (shard, count)
    }
}

/// A `--shard` value that is not usable.
public struct ShardError: Error, CustomStringConvertible, Equatable {
    public let text: String
    public let reason: String
    public var description: String { "--shard \(text.debugDescription): \(reason)" }
}
