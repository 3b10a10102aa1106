import Foundation
import HubCore
@testable import HubScenario
import Testing

@Suite("Scenario timelines")
struct ScenarioTimelineTests {
    /// Ten minutes of cloud outage in half an hour (the shipped cloud-offline, without its file).
    static func outage(name: String = "outage", expect: String = "- no-reading-lost") throws -> Scenario {
        try ScenarioLoader.parse("""
            name: \(name)
            pillar: reliability
            questions: [IOTREL 3, REL 11]
            seed: 8
            duration: 30m
            hub:
              thing: hbshub001
              poll_interval: 10s
              appliances:
                - { id: hvac, kind: furnace, sensor: sensehat }
            timeline:
              - { at: 10m, fault: cloud.offline, for: 10m }
            expect:
              \(expect)
            """, file: "\(name).yaml")
    }

    static func timeline(_ scenario: Scenario, seed: UInt64? = nil) throws -> ScenarioTimeline {
        try #require(try ScenarioRunner.run(scenario, seed: seed, recordTimeline: true).timeline)
    }

    @Test("a run's timeline holds its channels, the detector, the outbox, the fault window and the strips")
    func recordsARun() throws {
        let timeline = try Self.timeline(try Self.outage())
        #expect(timeline.spanSeconds == 1800)
        #expect(timeline.buckets == 180, "a bucket per poll interval when the run has fewer than 500 polls")
        let sensors = timeline.series.filter { $0.kind == .sensor }.map(\.name)
        #expect(sensors == ["hvac.temperature", "hvac.humidity", "hvac.pressure"])
        let temperature = try #require(timeline.series.first { $0.name == "hvac.temperature" })
        #expect(temperature.unit == "°C")
        #expect(temperature.points.count >= 170, "a reading every 10 s lands in (almost) every 10 s bucket")
        #expect(timeline.faults == [ScenarioTimeline.Fault(name: "cloud.offline", from: 600, to: 1200)])
        let cloud = try #require(timeline.strips.first { $0.kind == .cloud })
        #expect(cloud.changes.map(\.state) == ["connected", "disconnected", "connected"])
        #expect(cloud.changes[1].at == 600)
        #expect(cloud.changes[2].at > 1200 && cloud.changes[2].at < 1260)
        let led = try #require(timeline.strips.first { $0.kind == .led })
        #expect(led.changes.map(\.state) == ["green", "amber", "green"])
        #expect(timeline.strips.contains { $0.kind == .component && $0.name == "uplink" })
        #expect(timeline.strips.contains { $0.kind == .health && $0.name == "uplink" })

        // The outbox fills while the cloud is away and empties after: derived from the
        // history, it peaks near what the hub itself counted.
        let outbox = try #require(timeline.series.first { $0.kind == .outbox })
        let reported = try #require(timeline.outboxDepthMax)
        let peak = Int(outbox.points.map(\.max).max() ?? 0)
        #expect(peak <= reported && peak >= reported - 2, "derived peak \(peak), the hub's \(reported)")
        let peakAt = timeline.seconds(ofBucket: try #require(outbox.points.first { Int($0.max) == peak }).bucket)
        #expect(peakAt > 1100 && peakAt < 1260, "the outbox peaks as the outage ends (at \(peakAt) s)")
        #expect(timeline.dropped == 0)
    }

    @Test("the timeline and its JSON read back equal, inside a whole report too")
    func roundTrip() throws {
        let scenario = try Self.outage()
        let timeline = try Self.timeline(scenario)
        var json = JSONWriter()
        timeline.write(&json)
        let back = try ScenarioTimeline(try JSONField.parse(json.bytes, file: "t.json"))
        #expect(back == timeline)

        let outcome = try ScenarioRunner.run(scenario, recordTimeline: true)
        let report = ScenarioReport(scenarios: [scenario], outcomes: [outcome])
        #expect(report.entries[0].timelineSeed == 8)
        let text = ReportJSON.write(report)
        let read = try ReportJSON.read(try JSONField.parse(Array(text.utf8), file: "r.json"))
        #expect(read == report)
        #expect(ReportJSON.write(read) == text)
    }

    @Test("awkward values survive the trip: fractions, negatives, open faults, folded strips, no outbox figure")
    func roundTripEdges() throws {
        let timeline = ScenarioTimeline(
            spanSeconds: 0.5, buckets: 3,
            series: [.init(kind: .sensor, name: "a.b", unit: "\"q\" <u>", points: [.init(bucket: 0, min: -1e-7, max: 0.1 + 0.2),
                                                                                     .init(bucket: 2, min: 123_456.789, max: 1e300)])],
            strips: [.init(kind: .deployment, name: "d\u{1}", changes: [.init(at: 0, state: "in-progress"), .init(at: 0.25, state: "x\ny")],
                           changeCount: 7)],
            marks: [.init(kind: .model, at: 0.001, subject: "s", label: "m@1.0.0"), .init(kind: .alert, at: 0.5, subject: "s", label: "anomalous", value: -0.0)],
            faults: [.init(name: "f", from: 0.1, to: nil), .init(name: "g", from: 0, to: 0.5)],
            outboxDepthMax: nil, dropped: 3)
        var json = JSONWriter()
        timeline.write(&json)
        #expect(try ScenarioTimeline(try JSONField.parse(json.bytes, file: "t.json")) == timeline)
    }

    /// A valid timeline document with one field replaced.
    static func document(_ replacing: (inout [String: String]) -> Void) -> String {
        var fields: [String: String] = [
            "span_s": "100", "buckets": "10",
            "series": #"[{"kind": "sensor", "name": "hvac.temperature", "unit": "°C", "p": [[0, 20.5], [3, 20, 21]]}]"#,
            "strips": #"[{"kind": "led", "name": "LED", "n": 2, "c": [[0, "green"], [50.5, "red"]]}]"#,
            "marks": #"[{"kind": "alert", "at": 50.5, "subject": "hvac", "label": "anomalous", "value": 1.2}]"#,
            "faults": #"[{"name": "cloud.offline", "from": 10, "to": 20}]"#,
            "outbox_max": "4", "dropped": "0",
        ]
        replacing(&fields)
        return "{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!)" }.joined(separator: ", ") + "}"
    }

    @Test("a valid document reads")
    func validDocument() throws {
        let timeline = try ScenarioTimeline(try JSONField.parse(Array(Self.document { _ in }.utf8), file: "t.json"))
        #expect(timeline.series[0].points == [.init(bucket: 0, min: 20.5, max: 20.5), .init(bucket: 3, min: 20, max: 21)])
        #expect(timeline.outboxDepthMax == 4)
    }

    @Test("hostile timelines are refused with the field's path, never a trap", arguments: [
        ("span_s", "\"100\"", "span_s: expected a number"),
        ("span_s", "-5", "span_s: -5.0 is not a run length"),
        ("span_s", "1e300", "span_s: 1e+300 is not a run length"),
        ("buckets", "0", "buckets: 0 is outside 1…10000"),
        ("buckets", "1e12", "buckets: 1000000000000 is outside"),
        ("buckets", "2.5", "buckets: expected a whole number"),
        ("series", "{}", "series: expected an array"),
        ("series", #"[{"kind": "weather", "name": "x", "unit": "", "p": []}]"#, "series[0].kind: unknown series kind \"weather\""),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[10, 1]]}]"#, "series[0].p[0][0]: 10 is outside 0…9"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[-1, 1]]}]"#, "series[0].p[0][0]: -1 is outside 0…9"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[3, 1], [2, 1]]}]"#, "series[0].p[1][0]: bucket 2 after bucket 3"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[3, 2, 1]]}]"#, "series[0].p[0][2]: max 1.0 is below min 2.0"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[3]]}]"#, "series[0].p[0]: expected [bucket, min, max]"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[1, "1"]]}]"#, "series[0].p[0][1]: expected a number"),
        ("series", #"[{"kind": "sensor", "name": 7, "unit": "", "p": []}]"#, "series[0].name: expected a string"),
        ("series", #"[{"kind": "sensor", "unit": "", "p": []}]"#, "series[0]: missing field 'name'"),
        ("series", #"[{"kind": "sensor", "name": "x", "unit": "", "p": [[0,1],[1,1],[2,1],[3,1],[4,1],[5,1],[6,1],[7,1],[8,1],[9,1],[9,1]]}]"#,
         "series[0].p: 11 points for 10 buckets"),
        ("strips", #"[{"kind": "led", "name": "LED", "n": 1, "c": [[101, "red"]]}]"#, "strips[0].c[0][0]: 101.0 is outside the run"),
        ("strips", #"[{"kind": "led", "name": "LED", "n": 2, "c": [[5, "red"], [4, "green"]]}]"#, "strips[0].c[1][0]: 4.0 s after 5.0 s"),
        ("strips", #"[{"kind": "led", "name": "LED", "n": 0, "c": [[5, "red"]]}]"#, "strips[0].n: 0 changes seen but 1 kept"),
        ("strips", #"[{"kind": "led", "name": "LED", "n": 1, "c": [[5, 3]]}]"#, "strips[0].c[0][1]: expected a string"),
        ("strips", #"[{"kind": "mood", "name": "LED", "n": 0, "c": []}]"#, "strips[0].kind: unknown strip kind"),
        ("marks", #"[{"kind": "alert", "at": -1, "subject": "s", "label": "l"}]"#, "marks[0].at: -1.0 is outside the run"),
        ("marks", #"[{"kind": "alert", "at": 1, "subject": "s", "label": "l", "value": "high"}]"#, "marks[0].value: expected a number"),
        ("faults", #"[{"name": "f", "from": 20, "to": 10}]"#, "faults[0].to: ends at 10.0 s, before it starts at 20.0 s"),
        ("faults", #"[{"name": "f", "from": 20}]"#, "faults[0]: missing field 'to'"),
        ("outbox_max", "-1", "outbox_max: -1 is outside"),
        ("dropped", "true", "dropped: expected a whole number"),
    ])
    func hostile(field: String, value: String, error: String) throws {
        let text = Self.document { $0[field] = value }
        let thrown = #expect(throws: ReportReadError.self) {
            _ = try ScenarioTimeline(try JSONField.parse(Array(text.utf8), file: "t.json"))
        }
        #expect(thrown?.description.hasPrefix("t.json: " + error) == true, "\(String(describing: thrown))")
    }

    @Test("a truncated or missing timeline in a report names the path")
    func truncated() throws {
        let scenario = try Self.outage()
        let report = ScenarioReport(scenarios: [scenario], outcomes: [try ScenarioRunner.run(scenario, recordTimeline: true)])
        let text = ReportJSON.write(report)
        let cut = text.range(of: "\"strips\"")!.lowerBound
        #expect(throws: ReportReadError.self) { try ReportJSON.read(try JSONField.parse(Array(text[..<cut].utf8), file: "r.json")) }
        let missing = text.replacingOccurrences(of: "\"strips\": ", with: "\"stripes\": ")
        let thrown = #expect(throws: ReportReadError.self) { try ReportJSON.read(try JSONField.parse(Array(missing.utf8), file: "r.json")) }
        #expect(thrown?.description == "r.json: scenarios[0].timeline: missing field 'strips'")
    }

    @Test("memory is bounded: ten days of readings, a flapping LED, many devices and faults stay within the caps")
    func bounded() throws {
        let scenario = try ScenarioLoader.parse("""
            name: long
            seed: 1
            duration: 10d
            hub:
              poll_interval: 10s
              appliances: [{ id: hvac, kind: furnace }]
            expect:
              - no-alert
            """, file: "long.yaml")
        let start = scenario.start
        let recorder = TimelineRecorder(scenario, start: start)
        let polls = Int(scenario.duration.nanoseconds / 10_000_000_000)
        for poll in 0..<polls {
            let time = start + .seconds(Int64(poll) * 10)
            let device = DeviceID(stringLiteral: poll % 97 == 0 ? "extra\(poll % 5000)" : "hvac")
            recorder.observe(.busPublish(topic: .sensorReading(device), from: "sensor",
                                         message: .reading(Reading(timestamp: time, device: device,
                                                                   values: ChannelValues([(.temperature, Double(poll % 50)), (.humidity, 40)])))), at: time)
            recorder.observe(.ledFrame(colour: poll % 2 == 0 ? "green" : "red"), at: time)
            if poll % 100 == 0 { recorder.observe(.faultStart(name: "f\(poll)"), at: time) }
            if poll % 3 == 0 {
                recorder.observe(.busPublish(topic: .alert("hvac"), from: "inference",
                                             message: .alert(Alert(timestamp: time, device: "hvac", state: .anomalous, previous: .normal, model: "m", score: 2))), at: time)
            }
        }
        let timeline = recorder.finish()
        #expect(timeline.buckets == TimelineRecorder.bucketsMax)
        #expect(timeline.series.count <= TimelineRecorder.seriesMax)
        for series in timeline.series { #expect(series.points.count <= TimelineRecorder.bucketsMax) }
        let led = try #require(timeline.strips.first { $0.kind == .led })
        #expect(led.changes.count <= TimelineRecorder.bucketsMax + 1)
        #expect(led.changeCount == polls, "every change is counted, even those folded away")
        #expect(timeline.marks.count == TimelineRecorder.marksMax)
        #expect(timeline.faults.count == TimelineRecorder.faultsMax)
        #expect(timeline.dropped > 0)
        var json = JSONWriter()
        timeline.write(&json)
        #expect(json.bytes.count < 400_000, "\(json.bytes.count) bytes")
        #expect(try ScenarioTimeline(try JSONField.parse(json.bytes, file: "t.json")) == timeline)
    }

    @Test("a sweep keeps the timeline of the lowest failing seed, else the lowest seed, and the same as a merge of shards")
    func chosenSeed() throws {
        let passing = try Self.outage(name: "passes")
        // Fails on every seed: an alert that never comes.
        let failing = try Self.outage(name: "fails", expect: "- alert: { device: hvac, within: 5m, after: 10m }")
        // The lowest seed records its timeline as it runs; the first failing seed's comes from its replay.
        let results = try ScenarioSweep.run([passing, failing], seeds: 3...5, workers: 2)
        let outcomes = results.flatMap(\.outcomes)
        #expect(outcomes.filter { $0.timeline != nil }.map(\.seed) == [3, 3], "only the runs that may be shown hold a timeline")
        let report = ScenarioReport(scenarios: [passing, failing], outcomes: outcomes)
        #expect(report.entries.map(\.timelineSeed) == [3, 3])
        let shards = [[3, 4], [5]].map { seeds in
            ScenarioReport(scenarios: [passing, failing], outcomes: outcomes.filter { seeds.contains(Int($0.seed)) })
        }
        let merged = try ScenarioReport.merge(shards.enumerated().map { ("shard\($0.offset).json", $0.element) })
        #expect(merged == report)
    }
}
