import HubCore

/// `ScenarioReport` as JSON, written and read back: the `--json` file of `scenario run` and
/// `scenario check`, and what `report merge` joins.
///
/// `{"format": "hubrig-report/1", "passed": runs, "failed": runs, "scenarios": [{"name",
/// "file", "pillar", "questions", "tags", "modes", "duration_s", "runs": [{"seed", "passed",
/// "history"?, "checks": [{"expectation", "passed", "evidence", "at_s"?, "context"?}],
/// "replay"?}], "timeline_seed"?, "timeline"?}]}`. Reading it back gives an equal report,
/// so a merge of shards is the report of the whole run.
public enum ReportJSON {
    public static let format = "hubrig-report/1"

    public static func write(_ report: ScenarioReport) -> String {
        var json = JSONWriter(capacity: 1 << 16)
        json.beginObject()
        json.field("format", format)
        json.field("passed", report.passedRuns)
        json.field("failed", report.failedRuns)
        json.key("scenarios")
        json.beginArray()
        for entry in report.entries {
            json.beginObject()
            json.field("name", entry.name)
            json.field("file", entry.file)
            json.field("pillar", entry.pillar)
            json.field("questions", entry.questions)
            json.field("tags", entry.tags)
            json.field("modes", entry.modes)
            json.key("duration_s"); json.raw(Array(String(entry.durationSeconds).utf8))
            json.key("runs")
            json.beginArray()
            for run in entry.runs {
                json.beginObject()
                json.key("seed"); json.raw(Array(String(run.seed).utf8))
                json.field("passed", run.passed)
                if let history = run.history { json.field("history", history) }
                json.key("checks")
                json.beginArray()
                for check in run.checks {
                    json.beginObject()
                    json.field("expectation", check.expectation)
                    json.field("passed", check.passed)
                    json.field("evidence", check.evidence)
                    if let at = check.atSeconds { json.field("at_s", at) }
                    if !check.context.isEmpty { json.field("context", check.context) }
                    json.endObject()
                }
                json.endArray()
                if let replay = run.replay { json.field("replay", replay) }
                json.endObject()
            }
            json.endArray()
            if let seed = entry.timelineSeed, let timeline = entry.timeline {
                json.key("timeline_seed"); json.raw(Array(String(seed).utf8))
                json.key("timeline")
                timeline.write(&json)
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.string + "\n"
    }

    /// Reads a report file back; every field is checked, and an error names the file and
    /// the field's path.
    public static func read(path: String) throws(ReportReadError) -> ScenarioReport {
        try read(JSONField.read(path: path))
    }

    public static func read(_ root: JSONField) throws(ReportReadError) -> ScenarioReport {
        let top = try root.object()
        let formatField = try top.required("format", in: root)
        guard try formatField.string() == format else {
            throw formatField.fail("this is not a hubrig report of format \(format) (it says \((try? formatField.string()) ?? "?"))")
        }
        var entries: [ScenarioReport.Entry] = []
        for item in try top.required("scenarios", in: root).array() {
            let map = try item.object()
            var runs: [ScenarioReport.Run] = []
            for runItem in try map.required("runs", in: item).array() {
                let runMap = try runItem.object()
                var checks: [ScenarioReport.Check] = []
                for checkItem in try runMap.required("checks", in: runItem).array() {
                    let checkMap = try checkItem.object()
                    checks.append(ScenarioReport.Check(
                        expectation: try checkMap.required("expectation", in: checkItem).string(),
                        passed: try checkMap.required("passed", in: checkItem).bool(),
                        evidence: try checkMap.required("evidence", in: checkItem).string(),
                        atSeconds: try checkMap.optional("at_s")?.double(),
                        context: try stringList(checkMap.optional("context"))))
                }
                let seedField = try runMap.required("seed", in: runItem)
                let run = ScenarioReport.Run(seed: UInt64(try seedField.integer(in: 0...(1 << 53))), checks: checks,
                                             replay: try runMap.optional("replay")?.string(),
                                             history: try runMap.optional("history")?.string())
                let passedField = try runMap.required("passed", in: runItem)
                guard try passedField.bool() == run.passed else {
                    throw passedField.fail("says \(try passedField.bool()) but its checks say \(run.passed)")
                }
                if let last = runs.last, last.seed >= run.seed {
                    throw seedField.fail("seed \(run.seed) after seed \(last.seed): runs must be in increasing seed order, each seed once")
                }
                runs.append(run)
            }
            var timelineSeed: UInt64?
            var timeline: ScenarioTimeline?
            if let seedField = map.optional("timeline_seed") {
                let seed = UInt64(try seedField.integer(in: 0...(1 << 53)))
                guard runs.contains(where: { $0.seed == seed }) else { throw seedField.fail("seed \(seed) is not among the runs") }
                timelineSeed = seed
                timeline = try ScenarioTimeline(try map.required("timeline", in: item))
            }
            entries.append(ScenarioReport.Entry(
                name: try map.required("name", in: item).string(),
                file: try map.required("file", in: item).string(),
                pillar: try map.optional("pillar")?.string(),
                questions: try stringList(map.required("questions", in: item)),
                tags: try stringList(map.required("tags", in: item)),
                modes: try stringList(map.required("modes", in: item)),
                durationSeconds: try map.required("duration_s", in: item).integer(in: 0...(1 << 53)),
                runs: runs, timelineSeed: timelineSeed, timeline: timeline))
        }
        let report = ScenarioReport(entries: entries)
        for (key, count) in [("passed", report.passedRuns), ("failed", report.failedRuns)] {
            let field = try top.required(key, in: root)
            guard try field.integer() == Int64(count) else {
                throw field.fail("says \(try field.integer()) runs but the scenarios hold \(count)")
            }
        }
        return report
    }

    private static func stringList(_ field: JSONField?) throws(ReportReadError) -> [String] {
        guard let field else { return [] }
        var out: [String] = []
        for item in try field.array() { out.append(try item.string()) }
        return out
    }
}
