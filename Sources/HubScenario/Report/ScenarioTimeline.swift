import HubCore

/// What one run looked like over time, small enough to keep in a report: the series and
/// strips the HTML report draws (sensor values, anomaly score and threshold, outbox depth,
/// LED colour, cloud connectivity, component and health states), the alerts and the fault
/// windows.
///
/// Why downsampled: a report keeps one timeline per scenario, and a soak of days publishes
/// hundreds of thousands of readings, while the page draws a run some 1000 pixels wide. So
/// the run is cut into `buckets` equal slots (at most `TimelineRecorder.bucketsMax`) and a
/// series keeps the lowest and highest value of each slot — a spike stays visible — and a
/// strip keeps one state change per slot. Times are seconds from the run's start.
///
/// JSON (`timeline` of a report entry), short keys because a report holds 36 of these:
/// `{"span_s": 1800, "buckets": 180, "series": [{"kind": "sensor", "name":
/// "hvac.temperature", "unit": "°C", "p": [[bucket, min, max] or [bucket, value], ...]}],
/// "strips": [{"kind": "led", "name": "LED", "n": changes seen, "c": [[at_s, "state"],
/// ...]}], "marks": [{"kind": "alert", "at": 830, "subject": "hvac", "label": "anomalous",
/// "value": 1.09}], "faults": [{"name": "cloud.offline", "from": 600, "to": 1200 or
/// null}], "outbox_max": 92 or absent, "dropped": 0}`.
public struct ScenarioTimeline: Sendable, Equatable {
    /// A numeric lane: values bucketed as (bucket, min, max).
    public struct Series: Sendable, Equatable {
        /// What the values are; it decides how the report draws them.
        public enum Kind: String, Sendable, CaseIterable {
            /// A reading's channel (`name` is `device.channel`); gaps are gaps.
            case sensor
            /// The detector's score per window (`name` is the device).
            case score
            /// The detector's threshold (`name` is the device): a value that holds until the next.
            case threshold
            /// Messages in the outbox, derived from the history (`OutboxDepth`): holds until the next.
            case outbox
        }

        public var kind: Kind
        public var name: String
        public var unit: String
        /// Ascending buckets, each at most once.
        public var points: [Point]

        public init(kind: Kind, name: String, unit: String, points: [Point]) {
            self.kind = kind
            self.name = name
            self.unit = unit
            self.points = points
        }
    }

    /// The lowest and highest value seen in one bucket.
    public struct Point: Sendable, Equatable {
        public var bucket: Int
        public var min: Double
        public var max: Double

        public init(bucket: Int, min: Double, max: Double) {
            self.bucket = bucket
            self.min = min
            self.max = max
        }
    }

    /// A categorical lane: a state that holds from one change to the next.
    public struct Strip: Sendable, Equatable {
        /// Whose state it is; it decides the strip's colours.
        public enum Kind: String, Sendable, CaseIterable {
            /// The LED matrix's colour (`off`, `green`, `amber`, `red`, `mixed`).
            case led
            /// The uplink's cloud connection (`connected`, `disconnected`).
            case cloud
            /// A component's supervisor state (`waiting`, `starting`, `running`, `errored`, `broken`, `stopped`).
            case component
            /// A health report's state (`ok`, `degraded`, `failed`), per component or component/device.
            case health
            /// A device's sensor (`ready`, `error`).
            case sensor
            /// A deployment's status (`in-progress`, `committed`, `rolled-back`, `rejected`).
            case deployment
        }

        public var kind: Kind
        public var name: String
        /// Ascending times; within one bucket only the last change is kept.
        public var changes: [Change]
        /// Changes seen, counting those folded away (a flapping state shows as "412 changes").
        public var changeCount: Int

        public init(kind: Kind, name: String, changes: [Change], changeCount: Int) {
            self.kind = kind
            self.name = name
            self.changes = changes
            self.changeCount = changeCount
        }
    }

    /// A state from `at` on.
    public struct Change: Sendable, Equatable {
        public var at: Double
        public var state: String

        public init(at: Double, state: String) {
            self.at = at
            self.state = state
        }
    }

    /// A moment worth a marker: an alert, a model change.
    public struct Mark: Sendable, Equatable {
        /// What happened; the report draws each kind with its own marker.
        public enum Kind: String, Sendable, CaseIterable {
            /// A device's condition changed (`label` is the new condition, `value` the score).
            case alert
            /// A device's detector changed (`label` is the new model).
            case model
        }

        public var kind: Kind
        public var at: Double
        public var subject: String
        public var label: String
        public var value: Double?

        public init(kind: Kind, at: Double, subject: String, label: String, value: Double? = nil) {
            self.kind = kind
            self.at = at
            self.subject = subject
            self.label = label
            self.value = value
        }
    }

    /// A fault's window; `to` is nil for a fault still active when the run ended.
    public struct Fault: Sendable, Equatable {
        public var name: String
        public var from: Double
        public var to: Double?

        public init(name: String, from: Double, to: Double?) {
            self.name = name
            self.from = from
            self.to = to
        }
    }

    /// The run's length in seconds: the time axis runs from 0 to it.
    public var spanSeconds: Double
    /// Slots the span is cut into; bucket `i` covers `[i, i + 1) · spanSeconds / buckets`.
    public var buckets: Int
    public var series: [Series]
    public var strips: [Strip]
    public var marks: [Mark]
    public var faults: [Fault]
    /// The most messages the outbox held at once as the hub itself counted it (`sim.end`),
    /// when the run reported it: the derived outbox series is checked against it.
    public var outboxDepthMax: Int?
    /// Lanes, marks and faults left out because a cap was reached (the page says so).
    public var dropped: Int

    public init(spanSeconds: Double, buckets: Int, series: [Series] = [], strips: [Strip] = [], marks: [Mark] = [],
                faults: [Fault] = [], outboxDepthMax: Int? = nil, dropped: Int = 0) {
        self.spanSeconds = spanSeconds
        self.buckets = buckets
        self.series = series
        self.strips = strips
        self.marks = marks
        self.faults = faults
        self.outboxDepthMax = outboxDepthMax
        self.dropped = dropped
    }

    /// The middle of bucket `index`, in seconds from the start.
    public func seconds(ofBucket index: Int) -> Double {
        (Double(index) + 0.5) * spanSeconds / Double(max(buckets, 1))
    }
}

// MARK: JSON

extension ScenarioTimeline {
    /// The largest span a timeline may claim when read back: ten years, as `DurationText.maximum`.
    static let spanSecondsMax = DurationText.maximum.secondsValue
    /// Reading back accepts a little more than the recorder writes, never unbounded lists.
    static let bucketsReadMax = 10_000
    static let lanesReadMax = 1_000
    static let itemsReadMax = 100_000

    /// Writes the timeline as one JSON value (the `timeline` of a report entry).
    func write(_ json: inout JSONWriter) {
        json.beginObject()
        json.field("span_s", spanSeconds)
        json.field("buckets", buckets)
        json.key("series")
        json.beginArray()
        for series in series {
            json.beginObject()
            json.field("kind", series.kind.rawValue)
            json.field("name", series.name)
            json.field("unit", series.unit)
            json.key("p")
            json.beginArray()
            for point in series.points {
                json.beginArray()
                json.int(point.bucket)
                json.double(point.min)
                if point.max != point.min { json.double(point.max) }
                json.endArray()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("strips")
        json.beginArray()
        for strip in strips {
            json.beginObject()
            json.field("kind", strip.kind.rawValue)
            json.field("name", strip.name)
            json.field("n", strip.changeCount)
            json.key("c")
            json.beginArray()
            for change in strip.changes {
                json.beginArray()
                json.double(change.at)
                json.string(change.state)
                json.endArray()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("marks")
        json.beginArray()
        for mark in marks {
            json.beginObject()
            json.field("kind", mark.kind.rawValue)
            json.field("at", mark.at)
            json.field("subject", mark.subject)
            json.field("label", mark.label)
            if let value = mark.value { json.field("value", value) }
            json.endObject()
        }
        json.endArray()
        json.key("faults")
        json.beginArray()
        for fault in faults {
            json.beginObject()
            json.field("name", fault.name)
            json.field("from", fault.from)
            json.key("to")
            if let to = fault.to { json.double(to) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        if let outboxDepthMax { json.field("outbox_max", outboxDepthMax) }
        json.field("dropped", dropped)
        json.endObject()
    }

    /// Reads what `write` wrote; errors name the field. Every number is checked against the
    /// span and the bucket count, so a hand-edited file cannot make the page draw outside
    /// its lanes or the renderer trap.
    init(_ field: JSONField) throws(ReportReadError) {
        let map = try field.object()
        let spanField = try map.required("span_s", in: field)
        spanSeconds = try spanField.double()
        guard spanSeconds > 0, spanSeconds <= Self.spanSecondsMax else {
            throw spanField.fail("\(spanSeconds) is not a run length in seconds (0 < span ≤ \(Int(Self.spanSecondsMax)))")
        }
        buckets = Int(try map.required("buckets", in: field).integer(in: 1...Int64(Self.bucketsReadMax)))
        let span = spanSeconds
        func seconds(_ field: JSONField) throws(ReportReadError) -> Double {
            let value = try field.double()
            guard value >= 0, value <= span else { throw field.fail("\(value) is outside the run (0…\(span) s)") }
            return value
        }
        /// `object.kind` as one of `Kind`'s cases, else an error naming the known ones.
        func kind<Kind: RawRepresentable & CaseIterable>(_ object: [String: JSONField], _ item: JSONField, _ what: String) throws(ReportReadError) -> Kind
            where Kind.RawValue == String {
            let kindField = try object.required("kind", in: item)
            let text = try kindField.string()
            guard let kind = Kind(rawValue: text) else {
                throw kindField.fail("unknown \(what) kind \(text.debugDescription) (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
        func list(_ key: String, max: Int) throws(ReportReadError) -> [JSONField] {
            let listField = try map.required(key, in: field)
            let items = try listField.array()
            guard items.count <= max else { throw listField.fail("\(items.count) items: at most \(max)") }
            return items
        }

        series = []
        for item in try list("series", max: Self.lanesReadMax) {
            let lane = try item.object()
            let kind: Series.Kind = try kind(lane, item, "series")
            let pointsField = try lane.required("p", in: item)
            let pointItems = try pointsField.array()
            guard pointItems.count <= buckets else { throw pointsField.fail("\(pointItems.count) points for \(buckets) buckets") }
            var points: [Point] = []
            points.reserveCapacity(pointItems.count)
            for pointField in pointItems {
                let values = try pointField.array()
                guard values.count == 2 || values.count == 3 else { throw pointField.fail("expected [bucket, min, max] or [bucket, value]") }
                let bucket = Int(try values[0].integer(in: 0...Int64(buckets - 1)))
                if let last = points.last, last.bucket >= bucket {
                    throw values[0].fail("bucket \(bucket) after bucket \(last.bucket): buckets must ascend")
                }
                let low = try values[1].double()
                let high = values.count == 3 ? try values[2].double() : low
                guard low <= high else { throw values[2].fail("max \(high) is below min \(low)") }
                points.append(Point(bucket: bucket, min: low, max: high))
            }
            series.append(Series(kind: kind, name: try lane.required("name", in: item).string(),
                                 unit: try lane.required("unit", in: item).string(), points: points))
        }

        strips = []
        for item in try list("strips", max: Self.lanesReadMax) {
            let lane = try item.object()
            let kind: Strip.Kind = try kind(lane, item, "strip")
            let changesField = try lane.required("c", in: item)
            let changeItems = try changesField.array()
            guard changeItems.count <= Self.itemsReadMax else { throw changesField.fail("\(changeItems.count) changes: at most \(Self.itemsReadMax)") }
            var changes: [Change] = []
            for changeField in changeItems {
                let pair = try changeField.array()
                guard pair.count == 2 else { throw changeField.fail("expected [at_s, state]") }
                let at = try seconds(pair[0])
                if let last = changes.last, last.at > at { throw pair[0].fail("\(at) s after \(last.at) s: changes must be in time order") }
                changes.append(Change(at: at, state: try pair[1].string()))
            }
            let countField = try lane.required("n", in: item)
            let count = Int(try countField.integer(in: 0...(1 << 53)))
            guard count >= changes.count else { throw countField.fail("\(count) changes seen but \(changes.count) kept") }
            strips.append(Strip(kind: kind, name: try lane.required("name", in: item).string(), changes: changes, changeCount: count))
        }

        marks = []
        for item in try list("marks", max: Self.itemsReadMax) {
            let mark = try item.object()
            let kind: Mark.Kind = try kind(mark, item, "mark")
            marks.append(Mark(kind: kind, at: try seconds(mark.required("at", in: item)), subject: try mark.required("subject", in: item).string(),
                              label: try mark.required("label", in: item).string(), value: try mark.optional("value")?.double()))
        }

        faults = []
        for item in try list("faults", max: Self.itemsReadMax) {
            let fault = try item.object()
            let from = try seconds(fault.required("from", in: item))
            let toField = try fault.required("to", in: item)
            let to = toField.isNull ? nil : try seconds(toField)
            if let to, to < from { throw toField.fail("ends at \(to) s, before it starts at \(from) s") }
            faults.append(Fault(name: try fault.required("name", in: item).string(), from: from, to: to))
        }

        outboxDepthMax = try map.optional("outbox_max").map { (field) throws(ReportReadError) in Int(try field.integer(in: 0...(1 << 53))) }
        dropped = Int(try map.required("dropped", in: field).integer(in: 0...(1 << 53)))
    }
}
