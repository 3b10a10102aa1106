import HubCore

/// The terminal summary of a report read back from files (`report merge`): a line per
/// scenario with its pass rate over its seeds, its failing seeds with their failed
/// expectations and replay commands, then the totals — the sweep report's shape, made
/// from what the JSON holds.
public enum ReportSummary {
    public static func text(_ report: ScenarioReport) -> String {
        var lines: [String] = []
        for entry in report.entries where !entry.runs.isEmpty {
            let failed = entry.runs.filter { !$0.passed }
            var head = "\(entry.passed ? "PASS" : "FAIL") \(entry.name)  (\(entry.file), seeds \(ScenarioSweep.seedsText(entry.runs.map(\.seed))): "
                + "\(entry.passedRuns) of \(entry.runs.count) passed"
            if !failed.isEmpty { head += "; failed on seed\(failed.count == 1 ? "" : "s") " + failed.map { String($0.seed) }.joined(separator: ", ") }
            lines.append(head + ")")
            for run in failed.prefix(ScenarioSweep.failuresShownMax) {
                lines.append("     seed \(run.seed):")
                for check in run.checks where !check.passed {
                    lines.append("       FAIL \(check.expectation): \(check.evidence)")
                }
                if let replay = run.replay { lines.append("       replay: \(replay)") }
            }
        }
        let scenarios = report.entries.filter { !$0.runs.isEmpty }
        let failedScenarios = scenarios.filter { !$0.passed }.count
        lines.append("scenarios: \(scenarios.count - failedScenarios) passed, \(failedScenarios) failed (\(report.runCount) runs)")
        lines.append("\(report.passedRuns) passed, \(report.failedRuns) failed")
        return lines.joined(separator: "\n")
    }
}
