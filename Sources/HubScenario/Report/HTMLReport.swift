import HubCore

/// The report people read: one self-contained HTML file (no external assets).
///
/// Why one file with nothing outside it: it is attached to CI runs and mailed around, and
/// must open the same years later on a machine without network — so the style is inline,
/// the timelines are inline SVG, there is no script, no font and no image to fetch. The
/// markup is XHTML-compatible (every element closed, every attribute quoted) so that tests
/// can parse it as XML. It holds no date and no wall time, and walks everything in the
/// report's order, so the same results give the same page byte for byte.
///
/// The page: the totals, the Well-Architected review table (`WellArchitectedTable`), an
/// index of the scenarios, then a section per scenario with its facts, its expectations'
/// pass counts over the seeds, its failing runs (evidence, the events around the
/// violation, the replay command) and the timeline of one run (`TimelineSVG`).
public enum HTMLReport {
    /// Failing runs shown in full per scenario; the rest are listed by seed.
    static let failingRunsShownMax = 10

    /// The whole page for `report`, headed `title`.
    public static func render(_ report: ScenarioReport, title: String = "hubrig scenarios") -> String {
        let anchors = scenarioAnchors(report.entries)
        let failedScenarios = report.entries.filter { !$0.runs.isEmpty && !$0.passed }.count
        let ranScenarios = report.entries.filter { !$0.runs.isEmpty }.count
        var html = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        html += "<title>\(text(title))</title>\n<style>\n\(style)</style>\n</head>\n<body>\n"

        html += "<header>\n<h1>\(text(title)) \(badge(report.failedRuns == 0 ? "pass" : "fail"))</h1>\n"
        html += "<p class=\"totals\"><span>runs: <b>\(report.passedRuns)</b> passed, <b class=\"\(report.failedRuns > 0 ? "failtext" : "")\">\(report.failedRuns)</b> failed</span>"
        html += "<span>scenarios: <b>\(ranScenarios - failedScenarios)</b> passed, <b class=\"\(failedScenarios > 0 ? "failtext" : "")\">\(failedScenarios)</b> failed"
        if ranScenarios < report.entries.count { html += ", \(report.entries.count - ranScenarios) not run" }
        html += "</span></p>\n</header>\n"

        html += "<section id=\"well-architected\">\n<h2>Well-Architected review</h2>\n"
        html += "<p class=\"muted\">Each question the scenarios answer, the scenarios that answer it, and whether all their runs passed.</p>\n"
        html += WellArchitectedTable.html(report, anchors: anchors)
        html += "</section>\n"

        html += "<section id=\"scenarios\">\n<h2>Scenarios</h2>\n<table class=\"index\">\n"
        html += "<thead><tr><th>Scenario</th><th>Pillar</th><th>Questions</th><th>Duration</th><th>Runs passed</th><th>Verdict</th></tr></thead>\n<tbody>\n"
        for (at, entry) in report.entries.enumerated() {
            let verdict = entry.verdict
            html += "<tr class=\"\(verdict)\"><td><a href=\"#\(attribute(anchors[at]))\">\(text(entry.name))</a></td>"
            html += "<td>\(text(entry.pillar ?? ""))</td><td>\(questionLinks(entry.questions))</td>"
            html += "<td>\(text(durationText(entry.durationSeconds)))</td>"
            html += "<td>\(entry.passedRuns) of \(entry.runs.count)</td><td>\(badge(verdict))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n</section>\n"

        for (at, entry) in report.entries.enumerated() {
            html += section(entry, anchor: anchors[at])
        }
        html += "<footer class=\"muted\">Made by hubrig from \(report.runCount) run\(report.runCount == 1 ? "" : "s"). Times on the timelines are hub time from the run's start.</footer>\n"
        html += "</body>\n</html>\n"
        return html
    }

    // MARK: A scenario

    private static func section(_ entry: ScenarioReport.Entry, anchor: String) -> String {
        let verdict = entry.verdict
        var html = "<section class=\"scenario \(verdict)\" id=\"\(attribute(anchor))\">\n"
        html += "<h2>\(badge(verdict)) \(text(entry.name))</h2>\n<dl class=\"facts\">\n"
        html += fact("file", text(entry.file))
        html += fact("pillar", text(entry.pillar ?? "—"))
        html += fact("questions", entry.questions.isEmpty ? "—" : questionLinks(entry.questions))
        html += fact("tags", text(entry.tags.isEmpty ? "—" : entry.tags.joined(separator: ", ")))
        html += fact("modes", text(entry.modes.joined(separator: ", ")))
        html += fact("duration", text(durationText(entry.durationSeconds)))
        let runs = entry.runs.isEmpty ? "not run" : "\(entry.passedRuns) of \(entry.runs.count) \(entry.runs.count == 1 ? "seed" : "seeds") passed (\(seedsText(entry.runs.map(\.seed))), \(percent(entry.passedRuns, entry.runs.count)))"
        html += fact("pass rate", text(runs))
        if let history = entry.runs.first?.history { html += fact("judged on", text(history)) }
        html += "</dl>\n"
        html += expectations(entry)
        html += failingRuns(entry)
        html += timeline(entry)
        html += "</section>\n"
        return html
    }

    private static func fact(_ name: String, _ valueHTML: String) -> String {
        "<dt>\(text(name))</dt><dd>\(valueHTML)</dd>\n"
    }

    /// Each expectation with how many runs it held in, and the evidence of the timeline's run.
    private static func expectations(_ entry: ScenarioReport.Entry) -> String {
        guard let first = entry.runs.first else { return "" }
        let shown = entry.runs.first { $0.seed == entry.timelineSeed } ?? first
        var html = "<table class=\"checks\">\n<thead><tr><th>Expectation</th><th>Held in</th><th>Evidence (seed \(shown.seed))</th></tr></thead>\n<tbody>\n"
        for (index, check) in shown.checks.enumerated() {
            let held = entry.runs.filter { $0.checks.indices.contains(index) && $0.checks[index].passed }.count
            html += "<tr class=\"\(check.passed ? "pass" : "fail")\"><td>\(check.passed ? "✓" : "✗") \(text(check.expectation))</td>"
            html += "<td>\(held) of \(entry.runs.count)</td><td>\(text(check.evidence))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        return html
    }

    /// The failing runs: per seed the failed expectations with their evidence, the events
    /// around the violation and the command that replays it.
    private static func failingRuns(_ entry: ScenarioReport.Entry) -> String {
        let failing = entry.runs.filter { !$0.passed }
        guard !failing.isEmpty else { return "" }
        var html = "<h3>Failing runs (\(failing.count) of \(entry.runs.count))</h3>\n"
        for run in failing.prefix(failingRunsShownMax) {
            html += "<div class=\"failure\">\n<h4>seed \(run.seed)</h4>\n<ul>\n"
            for check in run.checks where !check.passed {
                html += "<li><b>\(text(check.expectation))</b>"
                if let at = check.atSeconds { html += " <span class=\"muted\">at \(text(offsetText(at)))</span>" }
                html += ": \(text(check.evidence))"
                if !check.context.isEmpty {
                    html += "\n<pre class=\"context\">\(text(check.context.joined(separator: "\n")))</pre>"
                }
                html += "</li>\n"
            }
            html += "</ul>\n"
            if let history = run.history {
                html += "<p>judged on <code>\(text(history))</code></p>\n"
            } else if let replay = run.replay {
                html += "<p>replay: <code>\(text(replay))</code></p>\n"
            }
            html += "</div>\n"
        }
        if failing.count > failingRunsShownMax {
            html += "<p>… and \(failing.count - failingRunsShownMax) more failing seeds: \(text(failing.dropFirst(failingRunsShownMax).map { String($0.seed) }.joined(separator: ", ")))</p>\n"
        }
        return html
    }

    private static func timeline(_ entry: ScenarioReport.Entry) -> String {
        guard let timeline = entry.timeline, let seed = entry.timelineSeed,
              let run = entry.runs.first(where: { $0.seed == seed }) else {
            return entry.runs.isEmpty ? "" : "<p class=\"muted\">No timeline was recorded for this scenario.</p>\n"
        }
        let why = run.passed ? (entry.runs.count > 1 ? "the lowest seed; every run passed" : "the only run")
                             : (entry.runs.filter { !$0.passed }.count > 1 ? "the lowest failing seed" : "the failing seed")
        var html = "<figure class=\"timeline\">\n<figcaption>Timeline of seed \(seed) (\(text(why))), hub time from the run's start"
        if timeline.dropped > 0 { html += "; \(timeline.dropped) events over the recorder's caps are not drawn" }
        html += "</figcaption>\n"
        html += TimelineSVG.render(timeline, failed: run.checks.filter { !$0.passed })
        let unplaced = run.checks.filter { !$0.passed && $0.atSeconds == nil }
        if !unplaced.isEmpty {
            html += "<p class=\"muted\">Not placed on the timeline (the checker cannot say when): \(text(unplaced.map(\.expectation).joined(separator: "; ")))</p>\n"
        }
        html += "</figure>\n"
        return html
    }

    // MARK: Pieces

    /// `PASS`, `FAIL` or `NOT RUN`, styled.
    static func badge(_ verdict: String) -> String {
        let label = switch verdict {
        case "pass": "PASS"
        case "fail": "FAIL"
        default: "NOT RUN"
        }
        return "<span class=\"badge \(verdict)\">\(label)</span>"
    }

    private static func questionLinks(_ questions: [String]) -> String {
        questions.map { "<a href=\"#\(attribute(questionAnchor($0)))\">\(text($0))</a>" }.joined(separator: ", ")
    }

    static func questionAnchor(_ question: String) -> String { "q-" + slug(question) }

    /// A section id per entry, from its name, unique in the page (`s-cloud-offline`, then
    /// `s-cloud-offline-2` for a second entry of that name from another file).
    static func scenarioAnchors(_ entries: [ScenarioReport.Entry]) -> [String] {
        var used: Set<String> = []
        return entries.map { entry in
            let base = "s-" + slug(entry.name)
            var anchor = base
            var suffix = 2
            while !used.insert(anchor).inserted {
                anchor = "\(base)-\(suffix)"
                suffix += 1
            }
            return anchor
        }
    }

    /// Letters, digits, `-` and `_` kept (ASCII only), anything else a `-`: safe in an id
    /// and a `#fragment` alike.
    static func slug(_ text: String) -> String {
        let kept = text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_": Character(scalar)
            default: "-"
            }
        }
        return kept.isEmpty ? "-" : String(kept)
    }

    /// `seed 8`, `seeds 1..100`, or `seeds 1..3, 7, 9..10` when not one range.
    static func seedsText(_ seeds: [UInt64]) -> String {
        let runs = ScenarioSweep.seedRuns(seeds)
        if runs.isEmpty { return "no seeds" }
        return seeds.count == 1 ? "seed \(runs[0])" : "seeds " + runs.joined(separator: ", ")
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        guard whole > 0 else { return "—" }
        return TextFormat.fixed(Double(part) * 100 / Double(whole), decimals: part == whole || part == 0 ? 0 : 1) + " %"
    }

    /// `1d6h`; a length no scenario can have (a hand-made report's) in plain seconds.
    static func durationText(_ seconds: Int64) -> String {
        seconds <= DurationText.maximum.components.seconds ? DurationText.format(.seconds(seconds)) : "\(seconds)s"
    }

    /// `+13h50m` (`+0s` at the start), milliseconds dropped.
    static func offsetText(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds <= DurationText.maximum.secondsValue else { return "+\(seconds)s" }
        return "+" + DurationText.format(.seconds(Int64(max(0, seconds).rounded(.down))))
    }

    /// Text content: markup escaped, and characters XML cannot hold replaced (`ResultFiles.text`).
    static func text(_ value: String) -> String { ResultFiles.text(value) }

    /// An attribute value in double quotes (`ResultFiles.attribute`).
    static func attribute(_ value: String) -> String { ResultFiles.attribute(value) }

    static let style = """
    body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0 auto; max-width: 1240px; padding: 0 20px 40px; color: #1d2327; background: #fff; font-size: 14px; line-height: 1.45; }
    h1 { font-size: 24px; margin: 24px 0 4px; }
    h2 { font-size: 19px; margin: 28px 0 8px; }
    h3 { font-size: 15px; margin: 16px 0 6px; }
    h4 { font-size: 14px; margin: 8px 0 4px; }
    a { color: #0b5cad; text-decoration: none; }
    a:hover { text-decoration: underline; }
    .muted { color: #646970; }
    .totals span { margin-right: 24px; font-size: 15px; }
    .failtext { color: #b32d2e; }
    .badge { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: 0.04em; padding: 1px 7px; border-radius: 9px; vertical-align: middle; }
    .badge.pass { background: #e3f3e6; color: #1e6b30; border: 1px solid #9fd3aa; }
    .badge.fail { background: #fbe5e5; color: #a11d1d; border: 1px solid #eba2a2; }
    .badge.none { background: #eceff1; color: #546e7a; border: 1px solid #cfd8dc; }
    table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
    th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e2e4e7; }
    th { background: #f6f7f7; font-weight: 600; font-size: 13px; }
    table.wa td.question { width: 28%; }
    table.wa td.verdict { width: 12%; white-space: nowrap; }
    table.wa td.evidence { font-size: 12.5px; }
    table.wa td.evidence div { margin-bottom: 3px; word-break: break-word; }
    tr.fail td:first-child { border-left: 3px solid #d63638; }
    tr.pass td:first-child { border-left: 3px solid #46a35e; }
    tr.none td:first-child { border-left: 3px solid #b0bec5; }
    a.fail { color: #a11d1d; }
    section.scenario { border-top: 2px solid #e2e4e7; margin-top: 30px; }
    section.scenario.fail { border-top-color: #d63638; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0 10px; }
    dl.facts dt { color: #646970; }
    dl.facts dd { margin: 0; }
    table.checks td:nth-child(2) { white-space: nowrap; width: 70px; }
    table.checks td { font-size: 13px; word-break: break-word; }
    .failure { border-left: 3px solid #d63638; background: #fdf6f6; padding: 4px 12px; margin: 8px 0; }
    .failure ul { margin: 4px 0; padding-left: 18px; }
    pre.context { font-size: 11.5px; background: #f6f7f7; border: 1px solid #e2e4e7; padding: 6px 8px; overflow-x: auto; white-space: pre; margin: 4px 0; }
    code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; background: #f6f7f7; padding: 1px 4px; word-break: break-all; }
    figure.timeline { margin: 12px 0; }
    figure.timeline figcaption { color: #646970; font-size: 12.5px; margin-bottom: 4px; }
    svg.timeline { width: 100%; height: auto; display: block; border: 1px solid #e2e4e7; background: #fff; }
    svg.timeline text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
    footer { margin-top: 40px; font-size: 12px; }

    """
}

extension ScenarioReport.Entry {
    /// `pass`, `fail`, or `none` for a scenario with no runs: the report's word and CSS class.
    var verdict: String { runs.isEmpty ? "none" : passed ? "pass" : "fail" }
}
