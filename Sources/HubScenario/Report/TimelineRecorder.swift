import HubCore
import HubKernel
import HubSim

/// Watches one run's history and keeps what its timeline needs, in bounded memory
/// whatever the run's length.
///
/// Why bounded and cheap: it runs inside seed sweeps, beside the checkers, on every event
/// of runs that last days. The run's length is known up front, so every value goes straight
/// into its bucket (a series keeps min and max per bucket, a strip its last change per
/// bucket), and the lanes, marks and faults are capped; what a cap turns away is counted
/// in `dropped`, never silently lost.
final class TimelineRecorder {
    /// Buckets a run is cut into at most: about one per horizontal pixel of the page.
    static let bucketsMax = 500
    static let seriesMax = 48
    static let stripsMax = 40
    static let marksMax = 500
    static let faultsMax = 200

    let scenario: Scenario
    let start: Instant
    private let spanSeconds: Double
    private let buckets: Int
    private let bucketsPerNanosecond: Double

    private var series: [ScenarioTimeline.Series] = []
    /// Per device, the series of each channel (indexed by `Channel.rawValue`; -1: none yet).
    private var channelSeries: [DeviceID: [Int]] = [:]
    private var scoreSeries: [DeviceID: (score: Int, threshold: Int)] = [:]
    private var outboxSeries: Int?
    private let outbox = OutboxDepth()

    private var strips: [StripBuilder] = []
    private var stripIndex: [String: Int] = [:]
    private var marks: [ScenarioTimeline.Mark] = []
    private var faults: [ScenarioTimeline.Fault] = []
    /// Faults started and not yet ended, by name, oldest first (indices into `faults`).
    private var openFaults: [String: [Int]] = [:]
    private var outboxDepthMax: Int?
    private var dropped = 0

    init(_ scenario: Scenario, start: Instant) {
        self.scenario = scenario
        self.start = start
        spanSeconds = max(scenario.duration.secondsValue, 0.001)
        // A bucket no shorter than the poll interval, so a series of readings has a point in
        // (almost) every bucket and a missing one is a real gap.
        let polls = scenario.duration.nanoseconds / max(scenario.pollInterval.nanoseconds, 1)
        buckets = Int(min(Int64(Self.bucketsMax), max(1, polls)))
        bucketsPerNanosecond = Double(buckets) / (spanSeconds * 1e9)
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        if outbox.observe(event) {
            if outboxSeries == nil { outboxSeries = newSeries(.outbox, name: "outbox", unit: "messages", at: 0, value: 0) }
            if let index = outboxSeries { series[index].add(Double(outbox.depth), bucket: bucket(time)) }
        }
        switch event {
        case .busPublish(_, _, .reading(let reading)):
            record(reading, bucket: bucket(time))
        case .busPublish(_, _, .inference(let result)):
            record(result, bucket: bucket(time))
        case .busPublish(_, _, .alert(let alert)):
            mark(ScenarioTimeline.Mark(kind: .alert, at: seconds(time), subject: alert.device.rawValue,
                                       label: alert.state.rawValue, value: alert.score))
        case .busPublish(_, _, .health(let report)):
            let name = report.device.map { "\(report.component)/\($0.rawValue)" } ?? report.component
            strip(.health, name, report.state.rawValue, at: time)
        case .busPublish(_, _, .deployment(let status)):
            strip(.deployment, status.deploymentID, status.state.rawValue, at: time)
        case .ledFrame(let colour):
            strip(.led, "LED", colour, at: time)
        case .componentState(let component, _, let to, _):
            strip(.component, component, to, at: time)
            if component == "uplink" {
                // A (re)started uplink believes itself connected until told otherwise; one
                // that is not running has no connection to speak of.
                if to == Supervisor.State.running.rawValue {
                    strip(.cloud, "cloud", "connected", at: time)
                } else if to != Supervisor.State.starting.rawValue {
                    strip(.cloud, "cloud", "unknown", at: time)
                }
            }
        case .componentError(let component, let error) where component == "uplink":
            if error.hasPrefix(UplinkComponent.connectionUpNote) {
                strip(.cloud, "cloud", "connected", at: time)
            } else if error.hasPrefix(UplinkComponent.connectionDownNote) {
                strip(.cloud, "cloud", "disconnected", at: time)
            }
        case .sensorReady(let device, _, _):
            strip(.sensor, device.rawValue, "ready", at: time)
        case .sensorError(let device, _, _):
            strip(.sensor, device.rawValue, "error", at: time)
        case .modelChange(let device, _, let to):
            mark(ScenarioTimeline.Mark(kind: .model, at: seconds(time), subject: device.rawValue, label: to))
        case .faultStart(let name):
            guard faults.count < Self.faultsMax else { dropped += 1; return }
            openFaults[name, default: []].append(faults.count)
            faults.append(ScenarioTimeline.Fault(name: name, from: seconds(time), to: nil))
        case .faultEnd(let name):
            guard var open = openFaults[name], !open.isEmpty else { return }
            faults[open.removeFirst()].to = seconds(time)
            openFaults[name] = open.isEmpty ? nil : open
        case .simulationEnd(let end):
            outboxDepthMax = end.outboxDepthMax
        default:
            break
        }
    }

    func finish() -> ScenarioTimeline {
        for index in faults.indices where faults[index].to == nil {
            faults[index].to = declaredEnd(of: faults[index])
        }
        // Lanes grouped by kind, in the order they first appeared within a kind (the
        // history's order, so the same run gives the same timeline).
        return ScenarioTimeline(
            spanSeconds: spanSeconds, buckets: buckets,
            series: ScenarioTimeline.Series.Kind.allCases.flatMap { kind in series.filter { $0.kind == kind } },
            strips: ScenarioTimeline.Strip.Kind.allCases.flatMap { kind in strips.map(\.strip).filter { $0.kind == kind } },
            marks: marks, faults: faults, outboxDepthMax: outboxDepthMax, dropped: dropped)
    }

    /// Where a fault the history never ended does end: the history records `fault.end` only
    /// for a window the world closes, so a power loss (ended by the power coming back), a
    /// deployment, a key press or a crash (moments) would otherwise shade the rest of the
    /// run. The scenario's own entry for it (same name, same start) says: its `for:`, else
    /// a moment for those that are one; nil — to the end — for a lasting failure (a clogged
    /// filter).
    private func declaredEnd(of fault: ScenarioTimeline.Fault) -> Double? {
        let entries = scenario.timeline.filter { $0.fault.name == fault.name && abs($0.at.secondsValue - fault.from) <= 1 }
        guard let entry = entries.min(by: { abs($0.at.secondsValue - fault.from) < abs($1.at.secondsValue - fault.from) }) else { return nil }
        let lasting: Duration?
        switch entry.fault {
        case .powerLoss: lasting = entry.duration ?? SimulationSetup.defaultPowerLoss
        case .deploy, .joystick, .component(_, .crash): lasting = entry.duration ?? .zero
        default: lasting = entry.duration
        }
        return lasting.map { min(spanSeconds, fault.from + $0.secondsValue) }
    }

    // MARK: Recording

    private func record(_ reading: Reading, bucket: Int) {
        var indices = channelSeries[reading.device] ?? []
        if indices.isEmpty {
            guard series.count < Self.seriesMax else { dropped += 1; return }
            indices = Array(repeating: -1, count: Channel.allCases.count)
        }
        var changed = false
        for (channel, value) in reading.values {
            var index = indices[channel.rawValue]
            if index < 0 {
                guard let made = newSeries(.sensor, name: "\(reading.device.rawValue).\(channel.key)", unit: channel.unit) else { continue }
                index = made
                indices[channel.rawValue] = made
                changed = true
            }
            series[index].add(value, bucket: bucket)
        }
        if changed || channelSeries[reading.device] == nil { channelSeries[reading.device] = indices }
    }

    private func record(_ result: InferenceResult, bucket: Int) {
        let indices: (score: Int, threshold: Int)
        if let known = scoreSeries[result.device] {
            indices = known
        } else {
            guard series.count + 2 <= Self.seriesMax,
                  let score = newSeries(.score, name: result.device.rawValue, unit: ""),
                  let threshold = newSeries(.threshold, name: result.device.rawValue, unit: "") else { dropped += 1; return }
            indices = (score, threshold)
            scoreSeries[result.device] = indices
        }
        series[indices.score].add(result.score, bucket: bucket)
        series[indices.threshold].add(result.threshold, bucket: bucket)
    }

    /// A new series (with a first value, if given), or nil when the cap is reached.
    private func newSeries(_ kind: ScenarioTimeline.Series.Kind, name: String, unit: String, at bucket: Int? = nil, value: Double = 0) -> Int? {
        guard series.count < Self.seriesMax else { dropped += 1; return nil }
        var lane = ScenarioTimeline.Series(kind: kind, name: name, unit: unit, points: [])
        if let bucket { lane.add(value, bucket: bucket) }
        series.append(lane)
        return series.count - 1
    }

    private func strip(_ kind: ScenarioTimeline.Strip.Kind, _ name: String, _ state: String, at time: Instant) {
        let key = kind.rawValue + "\u{0}" + name
        let index: Int
        if let known = stripIndex[key] {
            index = known
        } else {
            guard strips.count < Self.stripsMax else { dropped += 1; return }
            index = strips.count
            stripIndex[key] = index
            strips.append(StripBuilder(strip: ScenarioTimeline.Strip(kind: kind, name: name, changes: [], changeCount: 0)))
        }
        strips[index].set(state, at: seconds(time), bucket: bucket(time))
    }

    private func mark(_ mark: ScenarioTimeline.Mark) {
        guard marks.count < Self.marksMax else { dropped += 1; return }
        marks.append(mark)
    }

    // MARK: Time

    /// Nanoseconds from the start, as a plain difference: `Instant - Instant` goes through
    /// `Duration`'s 128-bit arithmetic, and this runs for most events of every run.
    private func offset(_ time: Instant) -> Double {
        Double(time.nanosecondsSinceEpoch &- start.nanosecondsSinceEpoch)
    }

    private func bucket(_ time: Instant) -> Int {
        let slot = offset(time) * bucketsPerNanosecond
        return slot <= 0 ? 0 : min(buckets - 1, Int(slot))
    }

    /// Seconds from the start, to the millisecond (so the JSON stays short and reads back
    /// equal), within the run.
    private func seconds(_ time: Instant) -> Double {
        let milliseconds = (offset(time) / 1e6).rounded()
        return min(spanSeconds, max(0, milliseconds / 1000))
    }
}

extension ScenarioTimeline.Series {
    /// Records `value` in `bucket` (a point per bucket that saw a value). Buckets only move
    /// forward: events come in time order.
    fileprivate mutating func add(_ value: Double, bucket: Int) {
        guard value.isFinite else { return }
        if let last = points.indices.last, points[last].bucket >= bucket {
            points[last].min = Swift.min(points[last].min, value)
            points[last].max = Swift.max(points[last].max, value)
        } else {
            points.append(ScenarioTimeline.Point(bucket: bucket, min: value, max: value))
        }
    }
}

/// One strip being recorded: its changes, at most one per bucket (the last of it).
private struct StripBuilder {
    var strip: ScenarioTimeline.Strip
    private var lastBucket = -1

    init(strip: ScenarioTimeline.Strip) {
        self.strip = strip
    }

    mutating func set(_ state: String, at seconds: Double, bucket: Int) {
        guard state != strip.changes.last?.state else { return }
        strip.changeCount += 1
        if bucket == lastBucket, let last = strip.changes.indices.last {
            // Folded into this bucket's change; a change back to the state before it is none.
            if last > 0, strip.changes[last - 1].state == state {
                strip.changes.removeLast()
                lastBucket = -1
            } else {
                strip.changes[last].state = state
            }
            return
        }
        strip.changes.append(ScenarioTimeline.Change(at: seconds, state: state))
        lastBucket = bucket
    }
}
