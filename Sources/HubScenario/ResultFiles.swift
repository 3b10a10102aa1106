import HubCore

/// Scenario results as JUnit XML for CI dashboards (the JSON is `ReportJSON`).
///
/// Built from a `ScenarioReport` in its order (scenario, then seed), it carries no
/// wall time, so a sweep's files are byte-identical however many workers ran it — the
/// same promise the terminal report makes. A failure carries its evidence, its seed and
/// the command that replays it.
public enum ResultFiles {
    /// JUnit XML: one `testsuite` per scenario, one `testcase` per expectation (and per seed
    /// when a scenario ran under several), a `failure` holding the evidence and the replay.
    public static func junit(_ report: ScenarioReport) -> String {
        let total = report.entries.reduce(0) { $0 + $1.runs.reduce(0) { $0 + $1.checks.count } }
        let failures = report.entries.reduce(0) { $0 + failedChecks($1) }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"hubrig scenarios\" tests=\"\(total)\" failures=\"\(failures)\" errors=\"0\">\n"
        for entry in report.entries where !entry.runs.isEmpty {
            let tests = entry.runs.reduce(0) { $0 + $1.checks.count }
            xml += "  <testsuite name=\"\(attribute(entry.name))\" tests=\"\(tests)\" failures=\"\(failedChecks(entry))\" errors=\"0\" skipped=\"0\">\n"
            xml += "    <properties>\n"
            xml += "      <property name=\"file\" value=\"\(attribute(entry.file))\"/>\n"
            xml += "      <property name=\"seeds\" value=\"\(attribute(entry.runs.map { String($0.seed) }.joined(separator: ",")))\"/>\n"
            if let pillar = entry.pillar {
                xml += "      <property name=\"pillar\" value=\"\(attribute(pillar))\"/>\n"
            }
            if !entry.questions.isEmpty {
                xml += "      <property name=\"questions\" value=\"\(attribute(entry.questions.joined(separator: ", ")))\"/>\n"
            }
            if let history = entry.runs[0].history {
                xml += "      <property name=\"history\" value=\"\(attribute(history))\"/>\n"
            }
            xml += "    </properties>\n"
            for run in entry.runs {
                for check in run.checks {
                    let name = entry.runs.count > 1 ? "\(check.expectation) [seed \(run.seed)]" : check.expectation
                    let open = "    <testcase classname=\"\(attribute(entry.name))\" name=\"\(attribute(name))\""
                    if check.passed {
                        xml += open + "/>\n"
                    } else {
                        xml += open + ">\n"
                        xml += "      <failure message=\"\(attribute(check.evidence))\" type=\"expectation\">"
                        xml += text(failureBody(check, run)) + "</failure>\n"
                        xml += "    </testcase>\n"
                    }
                }
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    private static func failedChecks(_ entry: ScenarioReport.Entry) -> Int {
        entry.runs.reduce(0) { $0 + $1.checks.filter { !$0.passed }.count }
    }

    private static func failureBody(_ check: ScenarioReport.Check, _ run: ScenarioReport.Run) -> String {
        var lines = [check.evidence, "seed \(run.seed)"]
        if let history = run.history {
            lines.append("judged on \(history)")
        } else if let replay = run.replay {
            lines.append("replay: \(replay)")
        }
        if !check.context.isEmpty {
            lines.append("events around the violation:")
            lines += check.context
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
