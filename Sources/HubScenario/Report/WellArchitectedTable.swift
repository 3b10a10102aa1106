import HubCore

/// The report's Well-Architected review table: each question the scenarios answer, the
/// scenarios that answer it, the verdict over all their runs and the evidence.
///
/// Why in the report: a Well-Architected review asks "how do you know?", and the answer is
/// a scenario that was run and passed over many seeds. Questions are sorted by pillar in the
/// framework's order — OPS, SEC, REL, PERF, COST, SUS — then the same pillars of the IoT
/// lens (IOTOPS, IOTSEC, IOTREL, IOTPERF, IOTCOST, IOTSUS), then any other prefix
/// alphabetically; within a pillar by number (REL 5 before REL 11).
enum WellArchitectedTable {
    /// One question with the entries (indices into the report) that name it.
    struct Row {
        let question: String
        let entries: [Int]
    }

    static let pillars = ["OPS", "SEC", "REL", "PERF", "COST", "SUS"]

    /// The questions of `report`, sorted, each with its entries in report order.
    static func rows(_ report: ScenarioReport) -> [Row] {
        var byQuestion: [String: [Int]] = [:]
        for (at, entry) in report.entries.enumerated() {
            for question in Set(entry.questions) { byQuestion[question, default: []].append(at) }
        }
        // Each question's entries went in once each, in report order: already sorted.
        return byQuestion.keys.sorted { sortKey($0) < sortKey($1) }.map { Row(question: $0, entries: byQuestion[$0]!) }
    }

    /// (pillar rank, prefix, number, the id itself): `IOTREL 3` is ("IOTREL" rank 8, 3).
    static func sortKey(_ question: String) -> (Int, String, Int, String) {
        let letters = String(question.prefix { $0.isLetter }).uppercased()
        let digits = question.dropFirst(letters.count).drop { $0 == " " }.prefix { $0.isNumber }
        let number = Int(digits.prefix(9)) ?? Int.max
        let base = letters.hasPrefix("IOT") ? String(letters.dropFirst(3)) : letters
        let rank = pillars.firstIndex(of: base).map { letters.hasPrefix("IOT") ? pillars.count + $0 : $0 } ?? 2 * pillars.count
        return (rank, letters, number, question)
    }

    /// The framework's question, for the well-known ids of the AWS Well-Architected
    /// Framework (the pillars' numbering of 2023–2024); others show only their id. The IoT
    /// lens is left out: its numbering has moved between editions, and a wrong title is
    /// worse than none.
    static func title(_ question: String) -> String? {
        let key = sortKey(question)
        guard key.2 != Int.max else { return nil }
        return titles["\(key.1) \(key.2)"]
    }

    static let titles: [String: String] = [
        "OPS 1": "How do you determine what your priorities are?",
        "OPS 2": "How do you structure your organization to support your business outcomes?",
        "OPS 3": "How does your organizational culture support your business outcomes?",
        "OPS 4": "How do you implement observability in your workload?",
        "OPS 5": "How do you reduce defects, ease remediation, and improve flow into production?",
        "OPS 6": "How do you mitigate deployment risks?",
        "OPS 7": "How do you know that you are ready to support a workload?",
        "OPS 8": "How do you utilize workload observability in your organization?",
        "OPS 9": "How do you understand the health of your operations?",
        "OPS 10": "How do you manage workload and operations events?",
        "OPS 11": "How do you evolve operations?",
        "SEC 1": "How do you securely operate your workload?",
        "SEC 2": "How do you manage identities for people and machines?",
        "SEC 3": "How do you manage permissions for people and machines?",
        "SEC 4": "How do you detect and investigate security events?",
        "SEC 5": "How do you protect your network resources?",
        "SEC 6": "How do you protect your compute resources?",
        "SEC 7": "How do you classify your data?",
        "SEC 8": "How do you protect your data at rest?",
        "SEC 9": "How do you protect your data in transit?",
        "SEC 10": "How do you anticipate, respond to, and recover from incidents?",
        "REL 1": "How do you manage service quotas and constraints?",
        "REL 2": "How do you plan your network topology?",
        "REL 3": "How do you design your workload service architecture?",
        "REL 4": "How do you design interactions in a distributed system to prevent failures?",
        "REL 5": "How do you design interactions in a distributed system to mitigate or withstand failures?",
        "REL 6": "How do you monitor workload resources?",
        "REL 7": "How do you design your workload to adapt to changes in demand?",
        "REL 8": "How do you implement change?",
        "REL 9": "How do you back up data?",
        "REL 10": "How do you use fault isolation to protect your workload?",
        "REL 11": "How do you design your workload to withstand component failures?",
        "REL 12": "How do you test reliability?",
        "REL 13": "How do you plan for disaster recovery (DR)?",
        "COST 1": "How do you implement cloud financial management?",
        "COST 2": "How do you govern usage?",
        "COST 3": "How do you monitor your cost and usage?",
        "COST 4": "How do you decommission resources?",
        "COST 5": "How do you evaluate cost when you select services?",
        "COST 6": "How do you meet cost targets when you select resource type, size and number?",
        "COST 7": "How do you use pricing models to reduce cost?",
        "COST 8": "How do you plan for data transfer charges?",
        "COST 9": "How do you manage demand, and supply resources?",
        "COST 10": "How do you evaluate new services?",
        "SUS 1": "How do you select Regions for your workload?",
        "SUS 2": "How do you align cloud resources to your demand?",
        "SUS 3": "How do you take advantage of software and architecture patterns to support your sustainability goals?",
        "SUS 4": "How do you take advantage of data management policies and patterns to support your sustainability goals?",
        "SUS 5": "How do you select and use cloud hardware and services in your architecture to support your sustainability goals?",
        "SUS 6": "How do your organizational processes support your sustainability goals?",
    ]

    /// The table as HTML: question (with its anchor), title, the scenarios (links to their
    /// sections), the verdict over all their runs, the evidence per scenario.
    static func html(_ report: ScenarioReport, anchors: [String]) -> String {
        let rows = rows(report)
        guard !rows.isEmpty else { return "<p class=\"muted\">No scenario names a Well-Architected question.</p>\n" }
        var html = "<table class=\"wa\">\n<thead><tr><th>Question</th><th>Scenarios</th><th>Verdict</th><th>Evidence</th></tr></thead>\n<tbody>\n"
        for row in rows {
            let entries = row.entries.map { report.entries[$0] }
            let runs = entries.reduce(0) { $0 + $1.runs.count }
            let passed = entries.reduce(0) { $0 + $1.passedRuns }
            let verdict = runs == 0 ? "none" : passed == runs ? "pass" : "fail"
            html += "<tr class=\"\(verdict)\" id=\"\(HTMLReport.attribute(HTMLReport.questionAnchor(row.question)))\">"
            html += "<td class=\"question\"><b>\(HTMLReport.text(row.question))</b>"
            if let title = title(row.question) { html += "<br/><span class=\"muted\">\(HTMLReport.text(title))</span>" }
            html += "</td><td>"
            html += row.entries.map { at in
                let entry = report.entries[at]
                return "<a href=\"#\(HTMLReport.attribute(anchors[at]))\" class=\"\(entry.verdict)\">\(HTMLReport.text(entry.name))</a>"
            }.joined(separator: "<br/>")
            html += "</td><td class=\"verdict\">\(HTMLReport.badge(verdict))"
            if runs > 0 { html += "<br/>\(passed) of \(runs) runs (\(HTMLReport.percent(passed, runs)))" }
            html += "</td><td class=\"evidence\">"
            html += entries.map { "<div><b>\(HTMLReport.text($0.name))</b>: \(HTMLReport.text(evidence($0)))</div>" }.joined()
            html += "</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        return html
    }

    /// One line on what a scenario's runs showed: the pass count over its seeds, or the
    /// first failure of its lowest failing seed.
    static func evidence(_ entry: ScenarioReport.Entry) -> String {
        guard !entry.runs.isEmpty else { return "not run" }
        let seeds = HTMLReport.seedsText(entry.runs.map(\.seed))
        let summary = entry.runs.count == 1 ? "\(entry.passed ? "passed" : "failed") on \(seeds)"
                                            : "\(entry.passedRuns) of \(entry.runs.count) runs passed over \(seeds)"
        guard let failing = entry.runs.first(where: { !$0.passed }), let check = failing.checks.first(where: { !$0.passed }) else {
            return summary
        }
        return entry.runs.count == 1 ? "\(summary): \(check.expectation): \(check.evidence)"
                                     : "\(summary); seed \(failing.seed): \(check.expectation): \(check.evidence)"
    }
}
