import Foundation
import HubCore
import HubScenario
import Testing

@Suite("Result files")
struct ResultFilesTests {
    /// A scenario in a directory whose name needs escaping in XML and JSON; it loses the
    /// HTS221 for an hour, so two of its three expectations fail.
    func failingOutcomes(seeds: [UInt64]) throws -> (outcomes: [ScenarioOutcome], directory: String) {
        let directory = NSTemporaryDirectory() + "hubrig-\(UUID().uuidString)/a&b \"q\" <x>"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/lost.yaml"
        try ScenarioRunnerTests.lostKit(appliance: "{ id: hvac, kind: furnace, model: none }",
                                        third: "health: { device: hvac, state: ok, within: 10m, after: 1h }")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let scenario = try ScenarioLoader.load(path: file)
        return (try seeds.map { try ScenarioRunner.run(scenario, seed: $0) }, directory)
    }

    /// Runs Debian's python3 (not a pyenv shim) with the junitparser package on `script`.
    func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("python3 failed (is python3-junitparser installed? ci/install-deps installs it): \(output)")
        }
        return output
    }

    struct TestFailure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    @Test("JUnit XML reads in junitparser (PyPI's JUnit reader): a suite per scenario, a case per expectation and seed, failures with seed and replay")
    func junitReadsElsewhere() throws {
        let (outcomes, directory) = try failingOutcomes(seeds: [4, 5])
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let path = directory + "/results.xml"
        try ResultFiles.junit(ScenarioReport(scenarios: [], outcomes: outcomes)).write(toFile: path, atomically: true, encoding: .utf8)
        let output = try python("""
            from junitparser import JUnitXml, Failure
            xml = JUnitXml.fromfile(\(String(reflecting: path)))
            for suite in xml:
                print("suite", suite.name, suite.tests, suite.failures)
                for case in suite:
                    failures = [r for r in case.result if isinstance(r, Failure)]
                    print("case", case.name, "|", "FAIL " + failures[0].message + " || " + failures[0].text.replace("\\n", " / ") if failures else "ok")
            """)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "suite lost-hts221 6 4", "\(output)")
        #expect(lines.filter { $0.hasPrefix("case ") }.count == 6)
        let failure = try #require(lines.first { $0.hasPrefix("case readings-every-poll [seed 5] | FAIL") }, "\(output)")
        #expect(failure.contains("largest gap 1h"))
        #expect(failure.contains("seed 5 / replay: hubrig scenario run "))
        #expect(failure.contains("a&b \"q\" <x>/lost.yaml --seed 5"), "paths survive escaping: \(failure)")
        #expect(lines.contains { $0.hasPrefix("case no-reading-lost [seed 4] | ok") })
    }

    @Test("the JSON results parse, count runs, and carry each check's evidence and the replay of a failed run")
    func jsonParses() throws {
        let (outcomes, directory) = try failingOutcomes(seeds: [4])
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let text = ReportJSON.write(ScenarioReport(scenarios: [], outcomes: outcomes))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["passed"] as? Int == 0 && object["failed"] as? Int == 1)
        let scenario = try #require((object["scenarios"] as? [[String: Any]])?.first)
        #expect(scenario["name"] as? String == "lost-hts221")
        let run = try #require((scenario["runs"] as? [[String: Any]])?.first)
        #expect(run["seed"] as? Int == 4 && run["passed"] as? Bool == false)
        #expect((run["replay"] as? String)?.hasSuffix("--seed 4 --event-log lost-hts221-seed4.jsonl") == true)
        let checks = try #require(run["checks"] as? [[String: Any]])
        #expect(checks.map { $0["expectation"] as? String } == ["readings-every-poll", "no-reading-lost", "health(hvac ok within 10m after 1h)"])
        #expect(checks.map { $0["passed"] as? Bool } == [false, true, false])
    }

    @Test("results files hold no wall time: two runs of the same seeds give the same bytes")
    func deterministic() throws {
        let (first, directory) = try failingOutcomes(seeds: [4, 5])
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let second = try [4, 5].map { try ScenarioRunner.run(first[0].scenario, seed: $0) }
        let reports = [first, second].map { ScenarioReport(scenarios: [], outcomes: $0) }
        #expect(ResultFiles.junit(reports[0]) == ResultFiles.junit(reports[1]))
        #expect(ReportJSON.write(reports[0]) == ReportJSON.write(reports[1]))
    }
}
