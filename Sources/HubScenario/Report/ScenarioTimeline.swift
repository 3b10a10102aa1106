import HubCore

/// What one run looked like over time, small enough to keep in a report: the series and
/// spans the HTML report draws (sensor values, anomaly score and threshold, alerts, LED
/// colour, outbox depth, connectivity, component states, fault windows).
///
/// PLACEHOLDER: the recorder and its JSON are being built; today it records nothing.
public struct ScenarioTimeline: Sendable, Equatable {
    public init() {}

    /// Writes the timeline as one JSON value (the `timeline` of a report entry).
    func write(_ json: inout JSONWriter) {
        json.beginObject()
        json.endObject()
    }

    /// Reads what `write` wrote; errors name the field.
    init(_ field: JSONField) throws(ReportReadError) {
        _ = try field.object()
    }
}

/// Watches one run's history and keeps what its timeline needs, in bounded memory
/// whatever the run's length.
final class TimelineRecorder {
    let scenario: Scenario
    let start: Instant

    init(_ scenario: Scenario, start: Instant) {
        self.scenario = scenario
        self.start = start
    }

    func observe(_ event: HistoryEvent, at time: Instant) {}

    func finish() -> ScenarioTimeline { ScenarioTimeline() }
}
