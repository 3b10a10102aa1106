import HubCore
import HubKernel

/// Proves the supervisor holds a component in a state at an instant (the end of the run
/// unless given), from the `component.state` events alone.
final class ComponentStateChecker: HistoryChecker {
    private let context: CheckContext
    private let component: String
    private let state: String
    private let instant: Instant
    private var last: String?
    private var changes = 0

    init(_ context: CheckContext, component: String, state: Supervisor.State, at: Duration?) {
        self.context = context
        self.component = component
        self.state = state.rawValue
        instant = at.map { context.start + $0 } ?? context.end
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard time <= instant, case .componentState(let name, _, let to, _) = event, name == component else { return }
        last = to
        changes += 1
    }

    var violationAt: Instant? { instant }

    func verdict() -> (passed: Bool, evidence: String) {
        let when = instant == context.end ? "at the end" : "at \(context.offset(instant))"
        guard let last else { return (false, "the supervisor had not reported \(component) \(when)") }
        return (last == state, "\(component) is \(last) \(when) (\(changes) state changes before)")
    }
}

/// Proves every failure of a component is followed by the component running again within
/// a bound, and that there was at least one failure: a recovery that was never needed
/// proves nothing. A failure starts at the fault that ends the component's run (a hang is
/// a failure from its first second, not from when the supervisor noticed), or at the
/// supervisor's `→ errored`/`→ broken` if that comes first.
final class ComponentRecoveryChecker: HistoryChecker {
    private let context: CheckContext
    private let component: String
    private let within: Duration
    private var failedAt: Instant?
    private var failures = 0
    private var recoveries: [Duration] = []
    private var late: (at: Instant, took: Duration?)?

    init(_ context: CheckContext, component: String, within: Duration) {
        self.context = context
        self.component = component
        self.within = within
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        if case .faultStart(let name) = event, failedAt == nil,
           ["crash", "hang", "crashloop"].contains(where: { name == "component.\(component).\($0)" }) {
            failures += 1
            failedAt = time
            return
        }
        guard case .componentState(let name, _, let to, _) = event, name == component else { return }
        // A crash loop (errored → starting → errored …) is one failure until it runs again.
        if to == "errored" || to == "broken", failedAt == nil {
            failures += 1
            failedAt = time
        }
        if to == "running", let start = failedAt {
            let took = time - start
            recoveries.append(took)
            if took > within, late == nil { late = (start, took) }
            failedAt = nil
        }
    }

    var violationAt: Instant? { late?.at }

    func verdict() -> (passed: Bool, evidence: String) {
        if let failedAt, late == nil, context.end - failedAt > within { late = (failedAt, nil) }
        guard failures > 0 else { return (false, "\(component) never failed, so its recovery was never tested") }
        let slowest = recoveries.max().map { DurationText.format($0) } ?? "-"
        if let late {
            let what = late.took.map { "took \(DurationText.format($0))" } ?? "never ran again"
            return (false, "\(component) failed at \(context.offset(late.at)) and \(what) (limit \(DurationText.format(within)))")
        }
        return (true, "\(component) failed \(failures) time(s) and ran again each time, the slowest after \(slowest)")
    }
}

/// Counts the bus's refusals of one component's publishes and subscriptions.
final class BusRefusedChecker: HistoryChecker {
    private let component: String
    private let range: ClosedRange<Int>
    private var count = 0
    private var topics: [String] = []

    init(component: String, range: ClosedRange<Int>) {
        self.component = component
        self.range = range
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .busRefused(let name, _, let topic, _, let refusals) = event, name == component else { return }
        count += refusals
        if topics.count < 3, !topics.contains(topic) { topics.append(topic) }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
        let on = topics.isEmpty ? "" : " (on \(topics.joined(separator: ", ")))"
        return (range.contains(count), "the bus refused \(count) of \(component)'s publishes and subscriptions\(on); expected \(bound)")
    }
}
