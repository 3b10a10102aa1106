import HubCore

/// What a fleet run came to: the waves as the cloud judged them, the rollback, the
/// readings, and each expectation's verdict.
///
/// Why its own type: `hubrig fleet run` prints it as a table or as JSON, and tests compare
/// it across runs and worker counts; it holds no wall-clock figure but `wallSeconds`,
/// which neither rendering of the report includes.
public struct FleetOutcome: Sendable {
    public struct Check: Sendable {
        public let expectation: Fleet.Expectation
        public let passed: Bool
        public let evidence: String
    }

    public let fleet: Fleet
    public let waves: [RolloutController.WaveResult]
    public let phase: RolloutController.Phase?
    public let stoppedAt: Instant?
    public let restoredAt: Instant?
    /// Hubs sent the rollback, and of them those that reported it committed.
    public let rolledBackHubs: Int
    public let rollbackCommitted: Int
    public let readings: Int
    public let cloudMessages: Int
    public let checks: [Check]
    public let wallSeconds: Double

    init(fleet: Fleet, controller: RolloutController?, readings: Int, cloudMessages: Int, wallSeconds: Double) {
        self.fleet = fleet
        waves = controller?.results ?? []
        phase = controller?.phase
        stoppedAt = controller?.stoppedAt
        restoredAt = controller?.restoredAt
        rolledBackHubs = controller?.rolledBackHubs.count ?? 0
        rollbackCommitted = controller.map { c in c.rolledBackHubs.count { c.rollbackLatest[$0] == .committed } } ?? 0
        self.readings = readings
        self.cloudMessages = cloudMessages
        self.wallSeconds = wallSeconds
        var checks: [Check] = []
        let outcome = Self.outcomeName(phase)
        let rolloutStart = fleet.rollout.map { fleet.start + $0.at }
        for expectation in fleet.expectations {
            switch expectation {
            case .outcome(let wanted):
                checks.append(Check(expectation: expectation, passed: outcome == wanted, evidence: "the rollout ended \(outcome)"))
            case .restoredWithin(let span):
                guard let restoredAt, let rolloutStart else {
                    checks.append(Check(expectation: expectation, passed: false,
                                        evidence: stoppedAt == nil ? "the rollout never stopped" : "the fleet was not restored by the end of the run"))
                    continue
                }
                let took = restoredAt - rolloutStart
                checks.append(Check(expectation: expectation, passed: took <= span,
                                    evidence: "restored \(DurationText.format(took)) after the rollout started"))
            }
        }
        self.checks = checks
    }

    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// `completed`, `rolled-back`, `in-progress` (the run ended first), `waiting` or `none`.
    static func outcomeName(_ phase: RolloutController.Phase?) -> String {
        switch phase {
        case nil: "none"
        case .waiting?: "waiting"
        case .rolling?: "in-progress"
        case .completed?: "completed"
        case .stopped?: "rolled-back"
        }
    }

    private func offset(_ instant: Instant) -> String { "+" + DurationText.format(instant - fleet.start) }

    private static func groupName(_ group: Int) -> String { group == 0 ? "canary" : "wave \(group)" }

    /// The terminal report: a line per wave, the rollback, the totals and the verdicts.
    public var table: String {
        let pad = TextFormat.padded
        var lines = ["fleet \(fleet.name) (\(fleet.file)): \(fleet.hubs) hubs × \(DurationText.format(fleet.duration)), seed \(fleet.seed), epoch \(DurationText.format(fleet.epoch))"]
        if let rollout = fleet.rollout, let plan = fleet.plan() {
            lines.append("rollout \(plan.deploymentID) at +\(DurationText.format(rollout.at)): groups \(plan.groups.map(String.init).joined(separator: ", ")) hubs; "
                         + "watch \(DurationText.format(plan.watch))\(plan.untilTerminal ? " or until all report" : ""); threshold \(TextFormat.fixed(plan.threshold, decimals: 2)) of hubs targeted so far")
            lines.append("")
            lines.append(pad("group", 9) + pad("started", 10) + pad("decided", 10) + pad("targeted", 10) + pad("committed", 11)
                         + pad("failed", 8) + pad("timed_out", 11) + pad("ratio", 17) + "decision")
            for wave in waves {
                let ratio = "\(wave.failedSoFar)/\(wave.targetedSoFar)=" + TextFormat.fixed(wave.ratio, decimals: 3)
                lines.append(pad(Self.groupName(wave.group), 9) + pad(offset(wave.started), 10) + pad(offset(wave.decided), 10)
                             + pad(String(wave.targeted), 10) + pad(String(wave.committed), 11) + pad(String(wave.failed), 8)
                             + pad(String(wave.timedOut), 11) + pad(ratio, 17) + wave.decision.rawValue)
            }
            lines.append("")
            lines.append("outcome \(Self.outcomeName(phase))")
            if let stoppedAt {
                var line = "stopped at \(offset(stoppedAt)); rollback sent to \(rolledBackHubs) hubs that had committed, \(rollbackCommitted) committed it"
                if let restoredAt { line += "; fleet restored at \(offset(restoredAt)) (\(DurationText.format(restoredAt - stoppedAt)) after the stop)" }
                lines.append(line)
            }
        } else {
            lines.append("no rollout")
        }
        lines.append("readings \(ScenarioRunner.formatRatio(Double(readings))) · cloud messages \(ScenarioRunner.formatRatio(Double(cloudMessages)))")
        for check in checks { lines.append("\(check.passed ? "ok  " : "FAIL") \(check.expectation.label): \(check.evidence)") }
        lines.append(passed ? "PASS" : "FAIL")
        return lines.joined(separator: "\n")
    }

    /// The report as one JSON object (no wall time, so runs compare byte for byte).
    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("name", fleet.name)
        w.field("file", fleet.file)
        w.field("hubs", fleet.hubs)
        w.key("seed"); w.raw(Array(String(fleet.seed).utf8))
        w.field("duration_s", Int(fleet.duration.secondsValue))
        w.field("outcome", Self.outcomeName(phase))
        w.key("waves")
        w.beginArray()
        for wave in waves {
            w.beginObject()
            w.field("group", Self.groupName(wave.group))
            w.field("started_s", Int((wave.started - fleet.start).secondsValue))
            w.field("decided_s", Int((wave.decided - fleet.start).secondsValue))
            w.field("targeted", wave.targeted)
            w.field("committed", wave.committed)
            w.field("failed", wave.failed)
            w.field("timed_out", wave.timedOut)
            w.field("targeted_so_far", wave.targetedSoFar)
            w.field("failed_so_far", wave.failedSoFar)
            w.field("ratio", wave.ratio)
            w.field("decision", wave.decision.rawValue)
            w.endObject()
        }
        w.endArray()
        w.key("stopped_s")
        if let stoppedAt { w.int(Int((stoppedAt - fleet.start).secondsValue)) } else { w.null() }
        w.key("restored_s")
        if let restoredAt { w.int(Int((restoredAt - fleet.start).secondsValue)) } else { w.null() }
        w.field("rolled_back_hubs", rolledBackHubs)
        w.field("rollback_committed", rollbackCommitted)
        w.field("readings", readings)
        w.field("cloud_messages", cloudMessages)
        w.key("checks")
        w.beginArray()
        for check in checks {
            w.beginObject()
            w.field("expectation", check.expectation.label)
            w.key("passed"); w.bool(check.passed)
            w.field("evidence", check.evidence)
            w.endObject()
        }
        w.endArray()
        w.key("passed"); w.bool(passed)
        w.endObject()
        return w.string
    }
}
