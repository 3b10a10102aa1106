import HubCore

/// Proves every reading published on the bus was handed to the uplink and reached the
/// cloud once, in the order sent — and that there were readings to lose: "0 of 0" proves
/// nothing, so a run without readings fails.
///
/// Streaming: messages sent and not yet received wait in a queue, so memory follows what
/// is in flight, not the length of the run.
final class NoReadingLostChecker: HistoryChecker {
    private var readings = 0
    private var sent = 0
    private var received = 0
    private var inFlight: [String] = []
    private var inFlightHead = 0
    private var firstViolation: String?

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .busPublish(_, _, .reading):
            readings += 1
        case .cloudSend(let topic, let id) where topic.name.hasSuffix("/telemetry"):
            sent += 1
            inFlight.append(id)
        case .cloudReceive(let topic, let id) where topic.name.hasSuffix("/telemetry"):
            received += 1
            if inFlightHead < inFlight.count, inFlight[inFlightHead] == id {
                inFlightHead += 1
                if inFlightHead > 1024, inFlightHead * 2 > inFlight.count {
                    inFlight.removeFirst(inFlightHead)
                    inFlightHead = 0
                }
            } else if firstViolation == nil {
                let expected = inFlightHead < inFlight.count ? inFlight[inFlightHead] : "nothing"
                firstViolation = "telemetry message #\(received) received was \(id), expected \(expected)"
            }
        default:
            break
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        if readings == 0 { return (false, "no readings were published, so none could be lost: nothing to check") }
        if sent != readings { return (false, "\(readings) readings published, \(sent) handed to the uplink") }
        if let firstViolation { return (false, "\(received) of \(sent) telemetry messages received; \(firstViolation)") }
        let missing = inFlight.count - inFlightHead
        if missing > 0 { return (false, "\(received) of \(sent) telemetry messages received (\(missing) missing)") }
        return (true, "\(received) of \(readings) readings reached the cloud, in order, once each")
    }
}
