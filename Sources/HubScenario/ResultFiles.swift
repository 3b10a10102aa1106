import HubCore

/// Scenario results as data: JUnit XML for CI dashboards, JSON for scripts.
///
/// Both are built from the outcomes in the order given (scenario, then seed) and carry no
/// wall time, so a sweep's files are byte-identical however many workers ran it — the
/// same promise the terminal report makes. A failure carries its evidence, its seed and
/// the command that replays it.
public enum ResultFiles {
    /// The outcomes of each scenario, in order of first appearance.
    static func grouped(_ outcomes: [ScenarioOutcome]) -> [[ScenarioOutcome]] {
        var groups: [[ScenarioOutcome]] = []
        var index: [String: Int] = [:]
        for outcome in outcomes {
            let key = outcome.scenario.file + "\u{0}" + outcome.scenario.name
            if let at = index[key] {
                groups[at].append(outcome)
            } else {
                index[key] = groups.count
                groups.append([outcome])
            }
        }
        return groups
    }

    /// JUnit XML: one `testsuite` per scenario, one `testcase` per expectation (and per seed
    /// when a scenario ran under several), a `failure` holding the evidence and the replay.
    public static func junit(_ outcomes: [ScenarioOutcome]) -> String {
        let groups = grouped(outcomes)
        let total = outcomes.reduce(0) { $0 + $1.checks.count }
        let failures = outcomes.reduce(0) { $0 + $1.checks.filter { !$0.passed }.count }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"hubrig scenarios\" tests=\"\(total)\" failures=\"\(failures)\" errors=\"0\">\n"
        for group in groups {
            let scenario = group[0].scenario
            let tests = group.reduce(0) { $0 + $1.checks.count }
            let failed = group.reduce(0) { $0 + $1.checks.filter { !$0.passed }.count }
            xml += "  <testsuite name=\"\(attribute(scenario.name))\" tests=\"\(tests)\" failures=\"\(failed)\" errors=\"0\" skipped=\"0\">\n"
            xml += "    <properties>\n"
            xml += "      <property name=\"file\" value=\"\(attribute(scenario.file))\"/>\n"
            xml += "      <property name=\"seeds\" value=\"\(attribute(group.map { String($0.seed) }.joined(separator: ",")))\"/>\n"
            if let history = group[0].historyPath {
                xml += "      <property name=\"history\" value=\"\(attribute(history))\"/>\n"
            }
            xml += "    </properties>\n"
            for outcome in group {
                for check in outcome.checks {
                    let name = group.count > 1 ? "\(check.expectation.label) [seed \(outcome.seed)]" : check.expectation.label
                    let open = "    <testcase classname=\"\(attribute(scenario.name))\" name=\"\(attribute(name))\""
                    if check.passed {
                        xml += open + "/>\n"
                    } else {
                        xml += open + ">\n"
                        xml += "      <failure message=\"\(attribute(check.evidence))\" type=\"expectation\">"
                        xml += text(failureBody(check, outcome)) + "</failure>\n"
                        xml += "    </testcase>\n"
                    }
                }
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    /// JSON: `{"passed": N, "failed": N, "scenarios": [{"name", "file", "runs": [{"seed",
    /// "passed", "checks": [{"expectation", "passed", "evidence"}], "replay"?}]}]}`, where
    /// passed/failed count runs; a judged log's run carries `"history"` instead of a replay.
    public static func json(_ outcomes: [ScenarioOutcome]) -> String {
        var json = JSONWriter(capacity: 4096)
        json.beginObject()
        json.field("passed", outcomes.filter(\.passed).count)
        json.field("failed", outcomes.filter { !$0.passed }.count)
        json.key("scenarios")
        json.beginArray()
        for group in grouped(outcomes) {
            json.beginObject()
            json.field("name", group[0].scenario.name)
            json.field("file", group[0].scenario.file)
            json.key("runs")
            json.beginArray()
            for outcome in group {
                json.beginObject()
                json.key("seed"); json.raw(Array(String(outcome.seed).utf8))
                json.field("passed", outcome.passed)
                if let history = outcome.historyPath { json.field("history", history) }
                json.key("checks")
                json.beginArray()
                for check in outcome.checks {
                    json.beginObject()
                    json.field("expectation", check.expectation.label)
                    json.field("passed", check.passed)
                    json.field("evidence", check.evidence)
                    json.endObject()
                }
                json.endArray()
                if !outcome.passed, outcome.historyPath == nil {
                    json.field("replay", ScenarioRunner.replayCommand(outcome.scenario, seed: outcome.seed))
                }
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self) + "\n"
    }

    private static func failureBody(_ check: CheckResult, _ outcome: ScenarioOutcome) -> String {
        var lines = [check.evidence, "seed \(outcome.seed)"]
        if let history = outcome.historyPath {
            lines.append("judged on \(history)")
        } else {
            lines.append("replay: \(ScenarioRunner.replayCommand(outcome.scenario, seed: outcome.seed))")
        }
        return lines.joined(separator: "\n")
    }

    /// XML 1.0 text: markup escaped, and the control characters XML cannot hold at all
    /// written as U+FFFD, so any evidence string gives a well-formed file.
    static func text(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let allowed = v >= 0x20 && !(0xD800...0xDFFF).contains(v) && v != 0xFFFE && v != 0xFFFF
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }

    /// An attribute value: text, with quotes and line breaks escaped (a raw newline in an
    /// attribute would be normalised to a space by every reader).
    static func attribute(_ value: String) -> String {
        text(value).replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "\n", with: "&#10;").replacingOccurrences(of: "\r", with: "&#13;")
            .replacingOccurrences(of: "\t", with: "&#9;")
    }
}
