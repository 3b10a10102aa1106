import HubCore

/// A property judged over a run's recorded history, one event at a time.
///
/// Checkers see only `HistoryEvent`s — never the simulator's objects — so the same checker
/// judges a simulated run as it happens, a live run, or a log read back from disk, and a
/// run of a thousand days needs no more memory than a run of one: each checker keeps only
/// what its verdict needs (counters, the last instant, the first violation).
public protocol HistoryChecker: AnyObject {
    /// Sees one recorded event; events arrive in time order.
    func observe(_ event: HistoryEvent, at time: Instant)
    /// The verdict once the history is complete, with the evidence a reader needs to believe it.
    func verdict() -> (passed: Bool, evidence: String)
    /// Where the violation is, once `verdict()` has failed, when the checker can say: the
    /// report shows the events around it and marks it on the timeline.
    var violationAt: Instant? { get }
}

extension HistoryChecker {
    public var violationAt: Instant? { nil }
}

/// What every checker knows about the run besides its history.
public struct CheckContext: Sendable {
    public let start: Instant
    public let end: Instant
    public let pollInterval: Duration
    public let devices: [DeviceID]
    /// Components that run in processes of their own over IPC (their publishes are accounted
    /// for from their clients' reports too).
    public let ipcComponents: [String]

    public init(start: Instant, end: Instant, pollInterval: Duration, devices: [DeviceID], ipcComponents: [String] = []) {
        self.start = start
        self.end = end
        self.pollInterval = pollInterval
        self.devices = devices
        self.ipcComponents = ipcComponents
    }

    /// "+14h06m" style offsets from the run's start, for evidence lines.
    func offset(_ instant: Instant) -> String { "+" + DurationText.format(instant - start) }

    /// The window `[after, after + within]` from the run's start.
    func window(after: Duration, within: Duration) -> CheckWindow {
        CheckWindow(from: start + after, to: start + after + within, text: "\(offset(start + after))…\(offset(start + after + within))")
    }
}

/// A closed span of the run an expectation looks at, with its "+1h…+1h10m" spelling.
struct CheckWindow {
    let from: Instant
    let to: Instant
    let text: String

    func contains(_ instant: Instant) -> Bool { instant >= from && instant <= to }
}

extension HistoryEvent {
    /// The anomaly alert this event publishes, if it is one.
    var anomalyAlert: Alert? {
        if case .busPublish(_, _, .alert(let alert)) = self, alert.state == .anomalous { return alert }
        return nil
    }

    /// The reading this event publishes on the bus, if it is one.
    var reading: Reading? {
        if case .busPublish(_, _, .reading(let reading)) = self { return reading }
        return nil
    }
}

extension Expectation {
    /// A fresh checker for this expectation.
    public func makeChecker(_ context: CheckContext) -> any HistoryChecker {
        switch self {
        case .readingsEveryPoll(let device): ReadingsEveryPollChecker(context, devices: device.map { [$0] } ?? context.devices)
        case .noAlert(let device): NoAlertChecker(context, device: device)
        case .noReadingLost: NoReadingLostChecker(ipcComponents: context.ipcComponents)
        case .alert(let device, let after, let within): AlertWithinChecker(context, device: device, after: after, within: within)
        case .health(let subject, let state, let after, let within):
            HealthStateChecker(context, subject: subject, state: state, after: after, within: within)
        case .deliveredToCloud(let topic, let after, let within): DeliveredToCloudChecker(context, topic: topic, after: after, within: within)
        case .outboxDepthMax(let count): RunEndChecker(context, .outboxDepthMax(count))
        case .cloudBytesPerDayMax(let bytes): RunEndChecker(context, .cloudBytesPerDayMax(bytes))
        case .cloudAttemptsMax(let count): RunEndChecker(context, .cloudAttemptsMax(count))
        case .kitRejectedMin(let count): RunEndChecker(context, .kitRejectedMin(count))
        case .noCorruptedReading: NoCorruptedReadingChecker(context)
        case .channelRange(let device, let channel, let min, let max): ChannelRangeChecker(context, device: device, channel: channel, range: min...max)
        case .scroll(let prefix, let after, let within): ScrollChecker(context, prefix: prefix, after: after, within: within)
        case .scrollCount(let count): ScrollCountChecker(context, expected: count)
        case .led(let colour, let after, let within): LEDChecker(context, colour: colour, after: after, within: within)
        case .componentState(let component, let state, let at): ComponentStateChecker(context, component: component, state: state, at: at)
        case .componentRecovers(let component, let within): ComponentRecoveryChecker(context, component: component, within: within)
        case .busRefused(let component, let min, let max): BusRefusedChecker(component: component, range: min...(max ?? Int.max))
        case .deployment(let id, let state, let within): DeploymentOutcomeChecker(context, id: id, state: state, within: within)
        case .rollbackWithin(let id, let within): RollbackTimeChecker(context, id: id, within: within)
        case .model(let device, let identifier): ModelAtEndChecker(context, device: device, identifier: identifier)
        case .ipcDropped(let component, let min, let max): IPCDroppedChecker(component: component, range: min...(max ?? Int.max))
        case .alertsDeliveredWithin(let within): AlertDeliveryChecker(context, within: within)
        case .cloudMessagesMax(let topic, let count): CloudMessagesChecker(topic: topic, maximum: count)
        case .resources(let budget): ResourceBudgetChecker(budget: budget)
        case .noDuplicateAfterDedup: CloudContentChecker(context, property: .noDuplicate)
        case .perDeviceOrder: CloudContentChecker(context, property: .perDeviceOrder)
        case .noReadingsFrom(let device, let after): NoReadingsFromChecker(context, device: device, after: after)
        }
    }
}
