import HubCore

/// A run's timeline as one inline SVG: a lane per sensor channel, per detector (score and
/// threshold, alerts as markers), for the outbox depth and for each state strip (LED
/// colour, cloud connection, components, health, sensors, deployments), under a shared
/// time axis in hub time from the run's start; fault windows are shaded bands across every
/// lane, and each failed expectation the checker could place is a red line with its label.
///
/// Why SVG drawn here: the report must open anywhere without a script or a library, and
/// must come out the same byte for byte for the same results; every lane goes through one
/// drawing routine (`draw(_:at:)`), whatever it holds.
enum TimelineSVG {
    static let width = 1000.0
    static let plotLeft = 178.0
    static let plotRight = 986.0
    static let seriesHeight = 46.0
    static let stripHeight = 15.0
    static let laneGap = 4.0
    static let labelRowHeight = 14.0
    static let axisHeight = 24.0
    static let labelCharacters = 27

    /// What a lane holds.
    enum Content {
        /// Sampled values: an envelope of min…max per bucket, broken where samples are missing.
        case samples(ScenarioTimeline.Series)
        /// A detector: its score, its threshold (held) and its marks (alerts, model changes).
        case detector(score: ScenarioTimeline.Series?, threshold: ScenarioTimeline.Series?, marks: [ScenarioTimeline.Mark])
        /// A level that holds until the next value (the outbox depth).
        case level(ScenarioTimeline.Series)
        /// Marks of subjects that have no detector lane.
        case marks([ScenarioTimeline.Mark])
        /// A state from one change to the next.
        case strip(ScenarioTimeline.Strip)
    }

    /// One row of the timeline: its name and a detail (range, peak, changes) on the left,
    /// what it holds on the right.
    struct Lane {
        let label: String
        let detail: String
        let content: Content

        var height: Double {
            if case .strip = content { return TimelineSVG.stripHeight }
            if case .marks = content { return TimelineSVG.stripHeight + 4 }
            return TimelineSVG.seriesHeight
        }
    }

    /// A label above the lanes: a fault's name at its band, a failed expectation at its line.
    struct TopLabel {
        let x: Double
        let text: String
        let title: String
        let kind: String
    }

    static func render(_ timeline: ScenarioTimeline, failed: [ScenarioReport.Check]) -> String {
        let lanes = lanes(timeline)
        let scale = TimeScale(span: timeline.spanSeconds, buckets: timeline.buckets)
        var labels: [TopLabel] = timeline.faults.map { fault in
            let window = "\(HTMLReport.offsetText(fault.from))…\(fault.to.map(HTMLReport.offsetText) ?? "end")"
            return TopLabel(x: scale.x(fault.from), text: "⚡ " + shorten(fault.name, 40), title: "fault \(fault.name) \(window)", kind: "fault")
        }
        // Each failed check placed once: a label above the lanes and a line through them.
        let violations = failed.compactMap { check in
            check.atSeconds.map { at in
                (check: check, x: scale.x(min(at, timeline.spanSeconds)), title: "\(check.expectation) failed at \(HTMLReport.offsetText(at)): \(check.evidence)")
            }
        }
        for violation in violations {
            labels.append(TopLabel(x: violation.x, text: "✗ " + shorten(violation.check.expectation, 48), title: violation.title, kind: "check"))
        }
        let rows = labelRows(labels)
        let top = 6 + Double(rows.count) * labelRowHeight + (rows.isEmpty ? 0 : 4)
        let lanesHeight = lanes.reduce(0) { $0 + $1.height + laneGap }
        let bottom = top + lanesHeight
        let height = bottom + axisHeight

        var svg = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\">\n"
        svg += "<title>\(HTMLReport.text("timeline: \(lanes.count) lanes, \(timeline.faults.count) fault\(timeline.faults.count == 1 ? "" : "s")"))</title>\n"

        // Grid and fault bands first, so lanes and lines draw over them.
        let ticks = scale.ticks()
        for tick in ticks {
            svg += "<line x1=\"\(n(scale.x(tick)))\" y1=\"\(n(top))\" x2=\"\(n(scale.x(tick)))\" y2=\"\(n(bottom))\" stroke=\"#eef0f2\" stroke-width=\"1\"/>\n"
        }
        for fault in timeline.faults {
            let x0 = scale.x(fault.from)
            let x1 = max(scale.x(fault.to ?? timeline.spanSeconds), x0 + 1.5)
            svg += "<rect class=\"fault\" x=\"\(n(x0))\" y=\"\(n(top - 2))\" width=\"\(n(x1 - x0))\" height=\"\(n(bottom - top + 2))\" fill=\"#ff9800\" fill-opacity=\"0.13\" stroke=\"#ff9800\" stroke-opacity=\"0.5\" stroke-width=\"0.8\">"
            svg += "<title>\(HTMLReport.text("fault \(fault.name) \(HTMLReport.offsetText(fault.from))…\(fault.to.map(HTMLReport.offsetText) ?? "end of run")"))</title></rect>\n"
        }

        var y = top
        for lane in lanes {
            svg += draw(lane, at: y, scale: scale)
            y += lane.height + laneGap
        }

        for violation in violations {
            let x = violation.x
            svg += "<line class=\"violation\" x1=\"\(n(x))\" y1=\"\(n(top - 2))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\" stroke=\"#d00000\" stroke-width=\"1.6\" stroke-dasharray=\"5 2\">"
            svg += "<title>\(HTMLReport.text(violation.title))</title></line>\n"
        }

        for (row, items) in rows.enumerated() {
            let baseline = 6 + Double(row + 1) * labelRowHeight - 3
            for label in items {
                let anchorEnd = label.x + estimatedWidth(label.text) > plotRight
                let colour = label.kind == "check" ? "#b00000" : "#a35a00"
                svg += "<text class=\"\(label.kind)-label\" x=\"\(n(anchorEnd ? label.x - 2 : label.x + 2))\" y=\"\(n(baseline))\" font-size=\"10.5\" fill=\"\(colour)\" text-anchor=\"\(anchorEnd ? "end" : "start")\">"
                svg += "\(HTMLReport.text(label.text))<title>\(HTMLReport.text(label.title))</title></text>\n"
            }
        }

        svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(bottom))\" x2=\"\(n(plotRight))\" y2=\"\(n(bottom))\" stroke=\"#8c8f94\" stroke-width=\"1\"/>\n"
        for tick in ticks {
            let x = scale.x(tick)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(bottom))\" x2=\"\(n(x))\" y2=\"\(n(bottom + 4))\" stroke=\"#8c8f94\" stroke-width=\"1\"/>"
            let anchor = tick == ticks.first ? "start" : x > plotRight - 20 ? "end" : "middle"
            svg += "<text x=\"\(n(x))\" y=\"\(n(bottom + 16))\" font-size=\"10.5\" fill=\"#50575e\" text-anchor=\"\(anchor)\">\(HTMLReport.text(scale.label(tick)))</text>\n"
        }
        svg += "<text x=\"4\" y=\"\(n(bottom + 16))\" font-size=\"10.5\" fill=\"#8c8f94\">hub time</text>\n"
        svg += "</svg>\n"
        return svg
    }

    // MARK: Lanes

    /// The lanes of a timeline, in the order it keeps them: sensor channels, detectors,
    /// the outbox, then the strips.
    static func lanes(_ timeline: ScenarioTimeline) -> [Lane] {
        var lanes: [Lane] = []
        var detectors: [String] = []
        for series in timeline.series where series.kind == .score || series.kind == .threshold {
            if !detectors.contains(series.name) { detectors.append(series.name) }
        }
        for series in timeline.series where series.kind == .sensor {
            let unit = series.unit.isEmpty ? "" : " " + series.unit
            lanes.append(Lane(label: series.name.replacingOccurrences(of: ".", with: " "), detail: rangeText(series) + unit, content: .samples(series)))
        }
        for device in detectors {
            let score = timeline.series.first { $0.kind == .score && $0.name == device }
            let threshold = timeline.series.first { $0.kind == .threshold && $0.name == device }
            let marks = timeline.marks.filter { $0.subject == device }
            let alerts = marks.filter { $0.kind == .alert && $0.label == DeviceCondition.anomalous.rawValue }.count
            var detail = threshold.map { "threshold " + rangeText($0) } ?? ""
            if alerts > 0 { detail += (detail.isEmpty ? "" : ", ") + "\(alerts) alert\(alerts == 1 ? "" : "s")" }
            lanes.append(Lane(label: "\(device) anomaly score", detail: detail, content: .detector(score: score, threshold: threshold, marks: marks)))
        }
        let orphans = timeline.marks.filter { !detectors.contains($0.subject) }
        if !orphans.isEmpty {
            lanes.append(Lane(label: "alerts, models", detail: "", content: .marks(orphans)))
        }
        for series in timeline.series where series.kind == .outbox {
            let peak = series.points.map(\.max).max() ?? 0
            var detail = "peak \(number(peak))"
            if let reported = timeline.outboxDepthMax { detail += " (hub: \(reported))" }
            lanes.append(Lane(label: "outbox depth", detail: detail, content: .level(series)))
        }
        for strip in timeline.strips {
            let kind = switch strip.kind {
            case .led: ""
            case .cloud: ""
            case .component: "component "
            case .health: "health "
            case .sensor: "sensor "
            case .deployment: "deployment "
            }
            let name = strip.kind == .cloud ? "cloud connection" : kind + strip.name
            // Said only when flapping was folded away, not for a start's waiting → starting → running.
            let folded = strip.changeCount - strip.changes.count >= 3 ? "\(strip.changeCount) changes" : ""
            lanes.append(Lane(label: name, detail: folded, content: .strip(strip)))
        }
        return lanes
    }

    /// Draws one lane at `y`: its band and label, then what it holds.
    static func draw(_ lane: Lane, at y: Double, scale: TimeScale) -> String {
        let height = lane.height
        var svg = "<g class=\"lane\">"
        svg += "<rect x=\"\(n(plotLeft))\" y=\"\(n(y))\" width=\"\(n(plotRight - plotLeft))\" height=\"\(n(height))\" fill=\"#f7f8f9\" fill-opacity=\"0.55\"/>"
        let compact = height < seriesHeight
        let detail = shorten(lane.detail, compact ? 14 : labelCharacters + 6)
        // A compact lane has its detail on the label's line: the label gives way.
        let room = compact && !detail.isEmpty ? Int((plotLeft - 14 - estimatedWidth(detail, size: 9)) / (11 * 0.56)) : labelCharacters
        svg += "<text x=\"4\" y=\"\(n(y + (compact ? height - 4 : 13)))\" font-size=\"11\" fill=\"#1d2327\">\(HTMLReport.text(shorten(lane.label, min(room, labelCharacters))))<title>\(HTMLReport.text(lane.label))</title></text>"
        if !detail.isEmpty {
            if compact {
                svg += "<text x=\"\(n(plotLeft - 4))\" y=\"\(n(y + height - 4))\" font-size=\"9\" fill=\"#8c8f94\" text-anchor=\"end\">\(HTMLReport.text(detail))</text>"
            } else {
                svg += "<text x=\"4\" y=\"\(n(y + 27))\" font-size=\"9.5\" fill=\"#646970\">\(HTMLReport.text(detail))</text>"
            }
        }
        svg += "\n"
        let box = Box(top: y + 3, bottom: y + height - 3)
        switch lane.content {
        case .samples(let series):
            svg += envelope(series, scale: scale, range: range([series]), box: box, colour: "#2271b1")
        case .detector(let score, let threshold, let marks):
            let lanes = [score, threshold].compactMap { $0 }
            let bounds = range(lanes, floor: 0)
            if let threshold { svg += levelLine(threshold, scale: scale, range: bounds, box: box, colour: "#b00000", dashed: true, filled: false) }
            if let score { svg += envelope(score, scale: scale, range: bounds, box: box, colour: "#6c3fb5") }
            svg += markers(marks, scale: scale, top: y, height: height)
        case .level(let series):
            svg += levelLine(series, scale: scale, range: range([series], floor: 0), box: box, colour: "#00796b", dashed: false, filled: true)
        case .marks(let marks):
            svg += markers(marks, scale: scale, top: y, height: height)
        case .strip(let strip):
            svg += blocks(strip, scale: scale, top: y, height: height)
        }
        svg += "</g>\n"
        return svg
    }

    /// The vertical extent a lane draws its values in (small margins inside its band).
    struct Box {
        let top: Double
        let bottom: Double

        func y(_ value: Double, _ range: ClosedRange<Double>) -> Double {
            let span = range.upperBound - range.lowerBound
            guard span > 0 else { return (top + bottom) / 2 }
            return bottom - (value - range.lowerBound) / span * (bottom - top)
        }
    }

    /// Runs of points with no gap: a gap is a jump of more than three times the series'
    /// usual spacing (at least two buckets), so a missed reading or a silent sensor shows.
    static func segments(_ points: [ScenarioTimeline.Point]) -> [ArraySlice<ScenarioTimeline.Point>] {
        guard points.count > 1 else { return points.isEmpty ? [] : [points[...]] }
        var steps = zip(points.dropFirst(), points).map { $0.bucket - $1.bucket }
        steps.sort()
        let usual = steps[steps.count / 2]
        let gap = max(2, 3 * usual)
        var runs: [ArraySlice<ScenarioTimeline.Point>] = []
        var start = 0
        for index in 1..<points.count where points[index].bucket - points[index - 1].bucket > gap {
            runs.append(points[start..<index])
            start = index
        }
        runs.append(points[start...])
        return runs
    }

    /// Sampled values: per run of points, a band from min to max (a line where they agree).
    static func envelope(_ series: ScenarioTimeline.Series, scale: TimeScale, range: ClosedRange<Double>, box: Box, colour: String) -> String {
        var svg = ""
        for run in segments(series.points) {
            if run.count == 1, let point = run.first {
                let x = scale.x(bucket: point.bucket)
                svg += "<line x1=\"\(n(x))\" y1=\"\(n(box.y(point.max, range) - 1))\" x2=\"\(n(x))\" y2=\"\(n(box.y(point.min, range) + 1))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
                continue
            }
            let upper = run.map { "\(n(scale.x(bucket: $0.bucket))),\(n(box.y($0.max, range)))" }
            if run.allSatisfy({ $0.min == $0.max }) {
                svg += "<polyline points=\"\(upper.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.2\" stroke-linejoin=\"round\"/>"
            } else {
                let lower = run.reversed().map { "\(n(scale.x(bucket: $0.bucket))),\(n(box.y($0.min, range)))" }
                svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.3\" stroke=\"\(colour)\" stroke-width=\"1\" stroke-linejoin=\"round\"/>"
            }
        }
        return svg + "\n"
    }

    /// A level held from each point to the next (its bucket's highest value), and after the
    /// last one to the end of the run.
    static func levelLine(_ series: ScenarioTimeline.Series, scale: TimeScale, range: ClosedRange<Double>, box: Box, colour: String,
                          dashed: Bool, filled: Bool) -> String {
        guard let first = series.points.first else { return "" }
        var path = "M\(n(scale.x(bucket: first.bucket) - scale.bucketWidth / 2)),\(n(box.y(first.max, range)))"
        for point in series.points.dropFirst() {
            path += " H\(n(scale.x(bucket: point.bucket) - scale.bucketWidth / 2)) V\(n(box.y(point.max, range)))"
        }
        path += " H\(n(plotRight))"
        var svg = ""
        if filled {
            let baseline = box.y(range.lowerBound, range)
            svg += "<path d=\"\(path) V\(n(baseline)) H\(n(scale.x(bucket: first.bucket) - scale.bucketWidth / 2)) Z\" fill=\"\(colour)\" fill-opacity=\"0.18\" stroke=\"none\"/>"
        }
        svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.2\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>"
        return svg + "\n"
    }

    /// Alerts as triangles (red: anomalous, green: back to normal), model changes as blue diamonds.
    static func markers(_ marks: [ScenarioTimeline.Mark], scale: TimeScale, top: Double, height: Double) -> String {
        var svg = ""
        for mark in marks {
            let x = scale.x(mark.at)
            var title = "\(mark.kind.rawValue) \(mark.subject) \(mark.label) at \(HTMLReport.offsetText(mark.at))"
            if let value = mark.value { title += " (score \(number(value)))" }
            let shape: String
            switch mark.kind {
            case .alert:
                let colour = mark.label == DeviceCondition.anomalous.rawValue ? "#d00000" : "#2e9e44"
                shape = "<path class=\"alert\" d=\"M\(n(x - 4.5)),\(n(top + 1)) L\(n(x + 4.5)),\(n(top + 1)) L\(n(x)),\(n(top + 9)) Z\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"0.6\">"
                    + "<title>\(HTMLReport.text(title))</title></path>"
                    + "<line x1=\"\(n(x))\" y1=\"\(n(top + 9))\" x2=\"\(n(x))\" y2=\"\(n(top + height))\" stroke=\"\(colour)\" stroke-width=\"0.8\" stroke-opacity=\"0.6\"/>"
            case .model:
                let middle = top + height / 2
                shape = "<path class=\"model\" d=\"M\(n(x)),\(n(middle - 5)) L\(n(x + 4)),\(n(middle)) L\(n(x)),\(n(middle + 5)) L\(n(x - 4)),\(n(middle)) Z\" fill=\"#1565c0\">"
                    + "<title>\(HTMLReport.text(title))</title></path>"
            }
            svg += shape
        }
        return svg + "\n"
    }

    /// A strip's states as coloured blocks from one change to the next, named where they fit.
    static func blocks(_ strip: ScenarioTimeline.Strip, scale: TimeScale, top: Double, height: Double) -> String {
        var svg = ""
        for (index, change) in strip.changes.enumerated() {
            let x0 = scale.x(change.at)
            let end = index + 1 < strip.changes.count ? strip.changes[index + 1].at : scale.span
            let x1 = max(scale.x(end), x0 + 0.8)
            let (fill, ink) = colours(strip.kind, change.state)
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(top + 1))\" width=\"\(n(x1 - x0))\" height=\"\(n(height - 2))\" fill=\"\(fill)\">"
            svg += "<title>\(HTMLReport.text("\(strip.name): \(change.state) from \(HTMLReport.offsetText(change.at))"))</title></rect>"
            if x1 - x0 > estimatedWidth(change.state, size: 9) + 6 {
                svg += "<text x=\"\(n(x0 + 3))\" y=\"\(n(top + height - 4))\" font-size=\"9\" fill=\"\(ink)\">\(HTMLReport.text(change.state))</text>"
            }
        }
        return svg + "\n"
    }

    /// A state's fill and the ink that reads on it; unknown states are grey.
    static func colours(_ kind: ScenarioTimeline.Strip.Kind, _ state: String) -> (String, String) {
        let dark = "#ffffff"
        let light = "#1d2327"
        switch (kind, state) {
        case (.led, "green"), (.cloud, "connected"), (.component, "running"), (.health, "ok"), (.sensor, "ready"), (.deployment, "committed"):
            return ("#2e9e44", dark)
        case (.led, "red"), (.cloud, "disconnected"), (.component, "broken"), (.health, "failed"), (.sensor, "error"), (.deployment, "rejected"):
            return ("#d63638", dark)
        case (.led, "amber"), (.health, "degraded"), (.component, "errored"), (.deployment, "rolled-back"):
            return ("#f0a500", light)
        case (.led, "off"):
            return ("#3c434a", dark)
        case (.led, "mixed"):
            return ("#8e6bbf", dark)
        case (.component, "starting"):
            return ("#a5d6a7", light)
        case (.component, "waiting"), (.component, "stopped"), (.cloud, "unknown"):
            return ("#cfd4d8", light)
        case (.deployment, "in-progress"):
            return ("#5b9bd5", dark)
        default:
            return ("#b8bec4", light)
        }
    }

    // MARK: Scales and text

    /// Seconds from the start to x, and the axis's ticks.
    struct TimeScale {
        let span: Double
        var bucketWidth: Double = 0

        init(span: Double) {
            self.span = max(span, 0.001)
        }

        func x(_ seconds: Double) -> Double {
            plotLeft + min(max(seconds, 0), span) / span * (plotRight - plotLeft)
        }

        /// Steps a tick may take, in seconds: whole seconds, minutes, hours or days.
        static let steps: [Double] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200,
                                      86400, 172_800, 604_800, 1_209_600, 2_592_000, 7_776_000, 31_536_000]

        /// Ticks at multiples of the smallest step that gives at most 12 of them.
        func ticks() -> [Double] {
            let step = step
            var ticks: [Double] = []
            var tick = 0.0
            while tick <= span + 1e-9, ticks.count < 64 {
                ticks.append(tick)
                tick += step
            }
            return ticks
        }

        var step: Double { Self.steps.first { span / $0 <= 12 } ?? Self.steps.last! }

        /// `+0h`, `+6h`, … `+30h`; `+1h30m` between hours; days once a step is a day.
        func label(_ seconds: Double) -> String {
            let step = step
            let whole = Int64(seconds.rounded())
            if step >= 86_400 { return "+\(whole / 86_400)d" + (whole % 86_400 == 0 ? "" : "\(whole % 86_400 / 3600)h") }
            if step >= 3600 { return "+\(whole / 3600)h" }
            if step >= 60 {
                if whole < 3600 { return "+\(whole / 60)m" }
                return "+\(whole / 3600)h" + (whole % 3600 == 0 ? "" : "\(whole % 3600 / 60)m")
            }
            if whole < 60 { return "+\(whole)s" }
            return "+\(whole / 60)m" + (whole % 60 == 0 ? "" : "\(whole % 60)s")
        }
    }

    /// The lowest and highest value of the series together (from `floor` up, if given),
    /// widened when flat so a steady value sits mid-lane.
    static func range(_ series: [ScenarioTimeline.Series], floor: Double? = nil) -> ClosedRange<Double> {
        var low = Double.infinity
        var high = -Double.infinity
        for lane in series {
            for point in lane.points {
                low = min(low, point.min)
                high = max(high, point.max)
            }
        }
        guard low.isFinite, high.isFinite else { return 0...1 }
        if let floor { low = min(low, floor) }
        if high - low < 1e-9 {
            let pad = max(abs(high) * 0.01, 0.5)
            return (low - pad)...(high + pad)
        }
        let pad = (high - low) * 0.06
        return (floor.map { low == $0 ? low : low - pad } ?? low - pad)...(high + pad)
    }

    /// `20.1…23.4` (the values seen), with the decimals that tell the two apart
    /// (`1007.6…1008.4`, not `1008…1008`).
    static func rangeText(_ series: ScenarioTimeline.Series) -> String {
        let low = series.points.map(\.min).min()
        let high = series.points.map(\.max).max()
        guard let low, let high else { return "no values" }
        guard low != high else { return number(low) }
        let spread = high - low
        let decimals = max(decimals(max(abs(low), abs(high))), spread >= 10 ? 0 : spread >= 1 ? 1 : spread >= 0.1 ? 2 : 3)
        return "\(number(low, decimals: decimals))…\(number(high, decimals: decimals))"
    }

    /// Decimals a value's size deserves (1234, 12.3, 1.23, 0.123).
    static func decimals(_ magnitude: Double) -> Int {
        magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
    }

    /// A value with the decimals its size deserves (trailing zeros dropped), or those given.
    static func number(_ value: Double, decimals: Int? = nil) -> String {
        // Beyond what fixed decimals can spell (a hand-made report may hold anything finite).
        guard abs(value) < 1e12 else { return "\(value)" }
        var text = TextFormat.fixed(value, decimals: decimals ?? Self.decimals(abs(value)))
        // Decimals asked for (a range's two ends) stay, so both ends read alike.
        if decimals == nil, text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// A coordinate to a tenth of a pixel; values no lane can hold (a hand-made report's
    /// extremes overflow a scale to infinity or NaN) are pinned rather than trapped on.
    static func n(_ value: Double) -> String {
        let text = TextFormat.fixed(value.isNaN ? 0 : min(max(value, -1e6), 1e6), decimals: 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    static func shorten(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// About how wide a text is drawn (no font metrics in a report without fonts).
    static func estimatedWidth(_ text: String, size: Double = 10.5) -> Double {
        Double(text.count) * size * 0.56
    }

    /// Labels in rows so that none overlaps the one before it in its row; at most 6 rows.
    static func labelRows(_ labels: [TopLabel]) -> [[TopLabel]] {
        var rows: [[TopLabel]] = []
        var ends: [Double] = []
        for label in labels.sorted(by: { ($0.x, $0.text) < ($1.x, $1.text) }) {
            let width = estimatedWidth(label.text) + 8
            let left = label.x + width > plotRight ? label.x - width : label.x
            if let row = ends.firstIndex(where: { $0 <= left }) {
                rows[row].append(label)
                ends[row] = left + width
            } else if rows.count < 6 {
                rows.append([label])
                ends.append(left + width)
            } else {
                rows[rows.count - 1].append(label)
            }
        }
        return rows
    }
}

extension TimelineSVG.TimeScale {
    /// A scale whose buckets are `buckets` to the span (for series points).
    init(span: Double, buckets: Int) {
        self.init(span: span)
        bucketWidth = (TimelineSVG.plotRight - TimelineSVG.plotLeft) / Double(max(buckets, 1))
    }

    /// The middle of a bucket.
    func x(bucket: Int) -> Double {
        TimelineSVG.plotLeft + (Double(bucket) + 0.5) * bucketWidth
    }
}
