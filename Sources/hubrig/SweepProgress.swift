import Foundation
import HubCore
import HubScenario

/// The progress of a sweep on a terminal: runs done, the scenario and seed just finished,
/// simulated time reached, speed and the time left — redrawn in place on standard error,
/// and only when standard error is a terminal, so CI logs stay quiet.
///
/// The estimate weighs runs by their simulated cost (`SweepPlan.cost`), not their count,
/// so a catalogue whose longest scenarios run first does not promise too early an end.
final class SweepProgress: @unchecked Sendable {
    // Safe: every mutable field is touched only under `lock`.
    private let scenarios: [Scenario]
    private let totalCost: Double
    private let clock = ContinuousClock()
    private let began: ContinuousClock.Instant
    private let lock = NSLock()
    private var doneCost = 0.0
    private var simulatedSeconds = 0.0
    private var lastDrawn: ContinuousClock.Instant?

    /// Nil when standard error is not a terminal.
    init?(scenarios: [Scenario], plan: SweepPlan) {
        guard isatty(STDERR_FILENO) == 1, !plan.runs.isEmpty else { return nil }
        self.scenarios = scenarios
        totalCost = Double(plan.cost(scenarios))
        began = clock.now
    }

    func show(done: Int, total: Int, run: SweepPlan.Run) {
        let scenario = scenarios[run.scenario]
        lock.withLock {
            doneCost += Double(SweepPlan.cost(scenario))
            simulatedSeconds += scenario.duration.secondsValue
            let now = clock.now
            // Ten redraws a second at most: a terminal is slower than a sweep of short runs.
            if let lastDrawn, now - lastDrawn < .milliseconds(100), done < total { return }
            lastDrawn = now
            let elapsed = (now - began).secondsValue
            let speed = simulatedSeconds / max(elapsed, 1e-3)
            let left = doneCost > 0 ? elapsed * (totalCost - doneCost) / doneCost : 0
            let line = "runs \(done)/\(total) · \(scenario.name) seed \(run.seed) · \(DurationText.format(.seconds(Int64(simulatedSeconds)))) simulated · "
                + "\(TextFormat.grouped(Int(speed)))× · ETA \(DurationText.format(.seconds(Int64(left.rounded()))))"
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        }
    }

    func clear() {
        lock.withLock { if lastDrawn != nil { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
    }
}
