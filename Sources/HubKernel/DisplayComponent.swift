import HubCore
import HubDrivers

/// Shows the hub's overall status on the LED matrix: green normal, red anomaly, amber degraded.
///
/// Red wins over amber (an appliance failing matters more than a sick sensor), amber over
/// green. The frame is written only when the colour changes: the ATtiny88 keeps showing
/// the last frame, and every write costs 193 bytes of bus time.
public struct DisplayComponent {
    public enum Action: Equatable, Sendable {
        case write(LEDFrame, colour: String, reason: String)
    }

    private var anomalous: [DeviceID] = []
    private var degraded: [String] = []
    private var shown: RGB5?

    public init() {}

    public var colour: RGB5 {
        if !anomalous.isEmpty { return .red }
        if !degraded.isEmpty { return .amber }
        return .green
    }

    public mutating func start() -> [Action] { refresh(reason: "start") }

    public mutating func handle(_ message: BusMessage) -> [Action] {
        switch message {
        case .alert(let alert):
            anomalous.removeAll { $0 == alert.device }
            if alert.state == .anomalous { anomalous.append(alert.device) }
            return refresh(reason: "alert \(alert.device) \(alert.state.rawValue)")
        case .health(let report):
            let key = report.component + "/" + (report.device?.rawValue ?? "")
            degraded.removeAll { $0 == key }
            if report.state != .ok { degraded.append(key) }
            return refresh(reason: "health \(key) \(report.state.rawValue)")
        case .reading, .inference:
            return []
        }
    }

    private mutating func refresh(reason: String) -> [Action] {
        let colour = colour
        guard colour != shown else { return [] }
        shown = colour
        return [.write(LEDFrame(filledWith: colour), colour: colour.statusName ?? "mixed", reason: reason)]
    }
}
