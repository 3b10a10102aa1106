import HubCore

/// The results of one scenario run (or of several shards merged) as data: what the JUnit,
/// JSON and HTML reports and `report merge` are all made from.
///
/// Why a model of its own rather than the outcomes: a shard's results must survive a trip
/// through a JSON file and come back equal, so that `report merge` of the shards gives the
/// same report, byte for byte, as one machine running the whole sweep. Everything here is
/// in the JSON; nothing is a wall-clock figure.
public struct ScenarioReport: Sendable, Equatable {
    /// One expectation's verdict on one run.
    public struct Check: Sendable, Equatable {
        public var expectation: String
        public var passed: Bool
        public var evidence: String
        /// Where the violation happened, in seconds from the run's start, when the checker knows.
        public var atSeconds: Double?
        /// The event log lines around the violation (`scenario run` replays the seed to get them).
        public var context: [String]

        public init(expectation: String, passed: Bool, evidence: String, atSeconds: Double? = nil, context: [String] = []) {
            self.expectation = expectation
            self.passed = passed
            self.evidence = evidence
            self.atSeconds = atSeconds
            self.context = context
        }
    }

    /// One seed's run of a scenario.
    public struct Run: Sendable, Equatable {
        public var seed: UInt64
        public var checks: [Check]
        /// The command that replays a failed run (nil for a pass or a judged log).
        public var replay: String?
        /// The event log a recorded run was judged from (`scenario check`).
        public var history: String?

        public var passed: Bool { checks.allSatisfy(\.passed) }

        public init(seed: UInt64, checks: [Check], replay: String? = nil, history: String? = nil) {
            self.seed = seed
            self.checks = checks
            self.replay = replay
            self.history = history
        }
    }

    /// One scenario: what it is, its runs in seed order, and the timeline of one run.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var file: String
        public var pillar: String?
        public var questions: [String]
        public var tags: [String]
        public var modes: [String]
        public var durationSeconds: Int64
        public var runs: [Run]
        /// The seed whose timeline is kept: the lowest failing seed, else the lowest seed run.
        public var timelineSeed: UInt64?
        public var timeline: ScenarioTimeline?

        public var passed: Bool { runs.allSatisfy(\.passed) }
        public var passedRuns: Int { runs.filter(\.passed).count }

        public init(name: String, file: String, pillar: String?, questions: [String], tags: [String], modes: [String],
                    durationSeconds: Int64, runs: [Run], timelineSeed: UInt64? = nil, timeline: ScenarioTimeline? = nil) {
            self.name = name
            self.file = file
            self.pillar = pillar
            self.questions = questions
            self.tags = tags
            self.modes = modes
            self.durationSeconds = durationSeconds
            self.runs = runs
            self.timelineSeed = timelineSeed
            self.timeline = timeline
        }

        /// The entry of `scenario` with no runs yet.
        public init(_ scenario: Scenario) {
            self.init(name: scenario.name, file: scenario.file, pillar: scenario.pillar, questions: scenario.questions,
                      tags: scenario.tags, modes: scenario.modes.map(\.rawValue), durationSeconds: scenario.duration.components.seconds,
                      runs: [])
        }

        /// The run whose timeline a report shows: the lowest failing seed, else the lowest seed.
        static func timelineSeed(_ runs: [Run]) -> UInt64? {
            runs.filter { !$0.passed }.map(\.seed).min() ?? runs.map(\.seed).min()
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public var runCount: Int { entries.reduce(0) { $0 + $1.runs.count } }
    public var passedRuns: Int { entries.reduce(0) { $0 + $1.passedRuns } }
    public var failedRuns: Int { runCount - passedRuns }
}

extension ScenarioReport {
    /// The report of finished outcomes, in the order given (scenario, then seed): each
    /// scenario in `scenarios` gets an entry even if this shard ran none of its seeds, so
    /// that merged shards keep the catalogue's order.
    public init(scenarios: [Scenario], outcomes: [ScenarioOutcome]) {
        var entries = scenarios.map(Entry.init)
        var index: [String: Int] = [:]
        var timelines: [Int: [(seed: UInt64, timeline: ScenarioTimeline)]] = [:]
        for (at, scenario) in scenarios.enumerated() { index[Self.key(scenario.file, scenario.name)] = at }
        for outcome in outcomes {
            let key = Self.key(outcome.scenario.file, outcome.scenario.name)
            let at: Int
            if let known = index[key] {
                at = known
            } else {
                at = entries.count
                index[key] = at
                entries.append(Entry(outcome.scenario))
            }
            entries[at].runs.append(Run(outcome))
            if let timeline = outcome.timeline {
                timelines[at, default: []].append((outcome.seed, timeline))
            }
        }
        // The timeline of the run `Entry.timelineSeed` names, among the runs that kept one.
        for (at, kept) in timelines {
            guard let seed = Entry.timelineSeed(entries[at].runs.filter { run in kept.contains { $0.seed == run.seed } }),
                  let chosen = kept.first(where: { $0.seed == seed }) else { continue }
            entries[at].timelineSeed = seed
            entries[at].timeline = chosen.timeline
        }
        self.init(entries: entries)
    }

    static func key(_ file: String, _ name: String) -> String { file + "\u{0}" + name }
}

extension ScenarioReport.Run {
    init(_ outcome: ScenarioOutcome) {
        let start = outcome.start
        self.init(seed: outcome.seed,
                  checks: outcome.checks.map { check in
                      ScenarioReport.Check(expectation: check.expectation.label, passed: check.passed, evidence: check.evidence,
                                           atSeconds: check.at.flatMap { at in start.map { (at - $0).secondsValue } },
                                           context: check.context)
                  },
                  replay: outcome.passed || outcome.historyPath != nil ? nil : ScenarioRunner.replayCommand(outcome.scenario, seed: outcome.seed),
                  history: outcome.historyPath)
    }
}
