import Foundation
import HubCore
@testable import HubScenario
import Testing

@Suite("HTML report")
struct HTMLReportTests {
    static let hostileName = "<script>alert('x')</script> & \"q\""

    /// Two scenarios run for real (one with a fault that passes, one that fails on every
    /// seed) and an entry made by hand whose every text is hostile markup.
    static func report() throws -> ScenarioReport {
        let passing = try ScenarioTimelineTests.outage(name: "passes")
        let failing = try ScenarioTimelineTests.outage(name: "fails", expect: "- alert: { device: hvac, within: 5m, after: 10m }")
        let outcomes = try [passing, failing].flatMap { scenario in try [1, 2].map { try ScenarioRunner.run(scenario, seed: $0, recordTimeline: true) } }
        var report = ScenarioReport(scenarios: [passing, failing], outcomes: outcomes)
        // Where the alert's window ended empty (+15m): what a checker that can say when
        // puts in `at`; the page marks it on the timeline.
        for check in report.entries[1].runs[0].checks.indices where !report.entries[1].runs[0].checks[check].passed {
            report.entries[1].runs[0].checks[check].atSeconds = 900
        }
        var hostile = report.entries[1]
        hostile.name = hostileName
        hostile.file = "a<b>&c.yaml"
        hostile.questions = ["REL 11", "X<1>\"", "IOTSEC 7"]
        hostile.tags = ["<i>"]
        for run in hostile.runs.indices {
            hostile.runs[run].replay = "hubrig scenario run 'a<b>&c.yaml' --seed 1"
            for check in hostile.runs[run].checks.indices where !hostile.runs[run].checks[check].passed {
                hostile.runs[run].checks[check].evidence = "<script>evil()</script> \u{7}bell & ]]> \u{FFFF}"
                hostile.runs[run].checks[check].context = ["{\"ev\": \"<b>bold</b>\"}", "\u{1B}[31m red"]
            }
        }
        report.entries.append(hostile)
        return report
    }

    struct TestFailure: Error, CustomStringConvertible { let description: String }

    /// What Python's XML parser (expat, strict) finds in the page, as JSON.
    struct Structure: Decodable {
        struct Section: Decodable {
            let id: String
            let classes: String
            let heading: String
            let svgs: Int
            let faults: Int
            let violations: Int
            let lanes: Int
        }

        struct Row: Decodable {
            let id: String
            let links: [String]
        }

        let sections: [Section]
        let rows: [Row]
        let ids: [String]
        let references: [String]
        let scripts: Int
        let text: String
    }

    static func structure(of html: String) throws -> Structure {
        let path = NSTemporaryDirectory() + "hubrig-report-\(UUID().uuidString).html"
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
            import json, sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            def tag(e): return e.tag.split('}')[-1]
            def text(e): return ''.join(e.itertext())
            sections, rows, ids, refs = [], [], [], []
            for e in root.iter():
                for name, value in e.attrib.items():
                    local = name.split('}')[-1]
                    if local == 'id': ids.append(value)
                    if local in ('href', 'src', 'action', 'data', 'poster', 'srcset'): refs.append(value)
                if tag(e) == 'section' and 'scenario' in e.get('class', '').split():
                    h2 = [c for c in e if tag(c) == 'h2'][0]
                    svgs = [c for c in e.iter() if tag(c) == 'svg']
                    sections.append({'id': e.get('id'), 'classes': e.get('class'), 'heading': text(h2), 'svgs': len(svgs),
                        'faults': sum(1 for c in e.iter() if c.get('class') == 'fault'),
                        'violations': sum(1 for c in e.iter() if c.get('class') == 'violation'),
                        'lanes': sum(1 for c in e.iter() if c.get('class') == 'lane')})
                if tag(e) == 'table' and e.get('class') == 'wa':
                    for tr in e.iter():
                        if tag(tr) == 'tr' and tr.get('id'):
                            rows.append({'id': tr.get('id'), 'links': [a.get('href') for a in tr.iter() if tag(a) == 'a']})
            scripts = sum(1 for e in root.iter() if tag(e) == 'script')
            print(json.dumps({'sections': sections, 'rows': rows, 'ids': ids, 'references': refs, 'scripts': scripts, 'text': text(root)}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure(description: "the page is not well-formed XML: \(message)") }
        return try JSONDecoder().decode(Structure.self, from: data)
    }

    @Test("the page is well-formed XHTML: a section per scenario, a timeline per run scenario, the WA table linking to sections")
    func structure() throws {
        let report = try Self.report()
        let html = HTMLReport.render(report, title: "scenarios & <more>")
        let page = try Self.structure(of: html)

        #expect(page.sections.count == 3)
        #expect(page.sections.map(\.id) == ["s-passes", "s-fails", "s--script-alert--x----script-----q-"])
        #expect(Set(page.ids).count == page.ids.count, "ids are unique")
        #expect(page.sections.map(\.svgs) == [1, 1, 1], "one timeline per scenario")
        #expect(page.sections.allSatisfy { $0.lanes >= 8 }, "\(page.sections.map(\.lanes))")
        #expect(page.sections[0].classes == "scenario pass" && page.sections[1].classes == "scenario fail")
        #expect(page.sections.allSatisfy { $0.faults == 1 }, "the cloud outage is a shaded band")
        #expect(page.sections[0].violations == 0)
        #expect(page.sections[1].violations == 1, "the failed alert expectation is marked where its window ended")

        // The WA table: a row per question, sorted by pillar (REL before the IoT lens's
        // pillars, SEC before REL there), each linking only to sections that exist.
        #expect(page.rows.map(\.id) == ["q-REL-11", "q-IOTSEC-7", "q-IOTREL-3", "q-X-1--"])
        let sectionIDs = Set(page.sections.map(\.id))
        for row in page.rows {
            #expect(!row.links.isEmpty)
            for link in row.links { #expect(link.hasPrefix("#") && sectionIDs.contains(String(link.dropFirst())), "\(row.id) → \(link)") }
        }
        #expect(page.rows[0].links == ["#s-passes", "#s-fails", "#s--script-alert--x----script-----q-"])
        #expect(html.contains("How do you design your workload to withstand component failures?"))
        #expect(html.contains("2 of 6 runs"), "the REL 11 verdict over every run of its scenarios")
    }

    @Test("every text is escaped: hostile names, evidence and context lines stay text, control characters are replaced")
    func escaping() throws {
        let html = HTMLReport.render(try Self.report(), title: "<title>")
        let page = try Self.structure(of: html)
        #expect(page.scripts == 0)
        #expect(page.sections[2].heading.contains(Self.hostileName))
        #expect(page.text.contains("<script>evil()</script> \u{FFFD}bell & ]]> \u{FFFD}"))
        #expect(page.text.contains("{\"ev\": \"<b>bold</b>\"}"))
        #expect(!html.contains("<script"), "no markup from the data gets through")
        #expect(!html.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
    }

    @Test("the page is self-contained: every reference is an anchor in it, nothing to fetch")
    func selfContained() throws {
        let html = HTMLReport.render(try Self.report())
        let page = try Self.structure(of: html)
        let ids = Set(page.ids)
        #expect(!page.references.isEmpty)
        for reference in page.references {
            #expect(reference.hasPrefix("#") && ids.contains(String(reference.dropFirst())), "\(reference)")
        }
        for outside in ["url(", "@import", "<link", "<img", "<iframe", "<object", "<embed", "src="] {
            #expect(!html.contains(outside), "\(outside)")
        }
    }

    @Test("the same results give the same page, byte for byte")
    func deterministic() throws {
        let report = try Self.report()
        #expect(HTMLReport.render(report) == HTMLReport.render(report))
        let again = try ReportJSON.read(try JSONField.parse(Array(ReportJSON.write(report).utf8), file: "r.json"))
        #expect(HTMLReport.render(again) == HTMLReport.render(report), "a report read back from JSON renders the same")
    }

    @Test("a report without runs or timelines still renders, and says what it lacks")
    func empty() throws {
        let entry = ScenarioReport.Entry(name: "idle", file: "idle.yaml", pillar: nil, questions: [], tags: [], modes: ["sim"],
                                         durationSeconds: 60, runs: [])
        let html = HTMLReport.render(ScenarioReport(entries: [entry]))
        let page = try Self.structure(of: html)
        #expect(page.sections.count == 1 && page.sections[0].svgs == 0)
        #expect(page.text.contains("No scenario names a Well-Architected question."))
        #expect(page.text.contains("NOT RUN"))
        #expect(HTMLReport.render(ScenarioReport(entries: [])).contains("runs: <b>0</b> passed"))
    }

    @Test("extreme values from a hand-made report render without trapping, and stay well-formed")
    func extremes() throws {
        let timeline = ScenarioTimeline(
            spanSeconds: DurationText.maximum.secondsValue, buckets: 3,
            series: [.init(kind: .sensor, name: "x.temperature", unit: "°C", points: [.init(bucket: 0, min: -Double.greatestFiniteMagnitude, max: .greatestFiniteMagnitude),
                                                                                   .init(bucket: 2, min: 1e300, max: 1e300)]),
                     .init(kind: .score, name: "x", unit: "", points: [.init(bucket: 1, min: -1e-300, max: 1e15)]),
                     .init(kind: .threshold, name: "x", unit: "", points: []),
                     .init(kind: .outbox, name: "outbox", unit: "", points: [.init(bucket: 2, min: 0, max: 9e15)])],
            strips: [.init(kind: .led, name: String(repeating: "L", count: 500), changes: [.init(at: 0, state: String(repeating: "s", count: 300))], changeCount: 1 << 40)],
            marks: [.init(kind: .alert, at: DurationText.maximum.secondsValue, subject: "nobody", label: "anomalous", value: -.greatestFiniteMagnitude)],
            faults: Array(repeating: .init(name: "f", from: 0, to: nil), count: 50), outboxDepthMax: 1 << 53, dropped: 1 << 53)
        let entry = ScenarioReport.Entry(name: "extreme", file: "x.yaml", pillar: "p", questions: ["REL 99999999999999999999"], tags: [], modes: [],
                                         durationSeconds: 1 << 53, runs: [.init(seed: 1 << 53, checks: [.init(expectation: "e", passed: false, evidence: "",
                                                                                                            atSeconds: 1e300)])],
                                         timelineSeed: 1 << 53, timeline: timeline)
        let page = try Self.structure(of: HTMLReport.render(ScenarioReport(entries: [entry])))
        #expect(page.sections.count == 1 && page.sections[0].svgs == 1 && page.sections[0].faults == 50 && page.sections[0].violations == 1)
    }

    @Test("questions sort by pillar, the IoT lens after the framework, numbers as numbers")
    func questionOrder() {
        let questions = ["IOTREL 3", "REL 11", "COST 2", "OPS 4", "REL 5", "IOTCOST 1", "SEC 9", "PERF 7", "SUS 1", "IOTOPS 4", "ZZZ 1", "IOTSEC 10", "IOTSEC 2"]
        #expect(questions.sorted { WellArchitectedTable.sortKey($0) < WellArchitectedTable.sortKey($1) }
            == ["OPS 4", "SEC 9", "REL 5", "REL 11", "PERF 7", "COST 2", "SUS 1", "IOTOPS 4", "IOTSEC 2", "IOTSEC 10", "IOTREL 3", "IOTCOST 1", "ZZZ 1"])
        #expect(WellArchitectedTable.title("REL 11") == "How do you design your workload to withstand component failures?")
        #expect(WellArchitectedTable.title("IOTREL 3") == nil)
    }

    @Test("the time axis reads in hub time: minutes for half an hour, hours for a day and a bit, days for weeks")
    func axis() {
        #expect(TimelineSVG.TimeScale(span: 1800).ticks().map { TimelineSVG.TimeScale(span: 1800).label($0) }
            == ["+0m", "+5m", "+10m", "+15m", "+20m", "+25m", "+30m"])
        let day = TimelineSVG.TimeScale(span: 30 * 3600)
        #expect(day.ticks().map(day.label) == ["+0h", "+3h", "+6h", "+9h", "+12h", "+15h", "+18h", "+21h", "+24h", "+27h", "+30h"])
        let weeks = TimelineSVG.TimeScale(span: 21 * 86_400)
        #expect(weeks.ticks().map(weeks.label).prefix(3) == ["+0d", "+2d", "+4d"])
    }

    @Test("headless Chromium renders the page to a non-empty PNG (ci/install-deps installs chromium)")
    func chromium() throws {
        let browser = try #require(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                   "chromium is not installed: ci/install-deps installs it")
        let directory = NSTemporaryDirectory() + "hubrig-chromium-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let page = directory + "/report.html"
        let picture = directory + "/report.png"
        try HTMLReport.render(try Self.report()).write(toFile: page, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(directory)/profile",
                             "--screenshot=\(picture)", "--window-size=1400,2400", "file://\(page)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("chromium did not finish within 2 minutes")
            return
        }
        #expect(process.terminationStatus == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: picture))
        #expect(png.count > 10_000, "\(png.count) bytes")
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
