import HubCore
import HubDrivers

/// The display component's timer: the next column of a scrolling message.
public enum DisplayTimer: Equatable, Sendable {
    case scrollStep(Int)
}

/// Shows the hub's overall status on the LED matrix — green normal, red anomaly, amber
/// degraded — and, when the joystick is pressed in, scrolls the latest temperature
/// ("t: 21.40") as the original hub did.
///
/// Red wins over amber (an appliance failing matters more than a sick sensor), amber over
/// green. The status frame is written only when the colour changes: the ATtiny88 keeps
/// showing the last frame, and every write costs 193 bytes of bus time. A press acts on
/// the change of KEYS, not on the edge, so a bouncing contact (many edges, the same keys)
/// scrolls once. Status changes during a scroll show when the scroll ends.
public struct DisplayComponent {
    public enum Action: Equatable, Sendable {
        case write(LEDFrame, colour: String, reason: String)
        case scroll(text: String)
        case schedule(DisplayTimer, at: Instant)
    }

    public static let scrollStep: Duration = .milliseconds(100)

    private var anomalous: [DeviceID] = []
    private var degraded: [String] = []
    private var shown: RGB5?
    private var heldKeys: JoystickKeys = []
    private var latestTemperature: Double?
    private var scrollFrames: [LEDFrame] = []
    private var scrollGeneration = 0

    public init() {}

    public var colour: RGB5 {
        if !anomalous.isEmpty { return .red }
        if !degraded.isEmpty { return .amber }
        return .green
    }

    public var scrolling: Bool { !scrollFrames.isEmpty }

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
        case .reading(let reading):
            // The scroll shows the first device that reported a temperature, as the one-kit hub did.
            if firstDevice == nil, reading.values[.temperature] != nil { firstDevice = reading.device }
            if reading.device == firstDevice, let temperature = reading.values[.temperature] {
                latestTemperature = temperature
            }
            return []
        case .inference, .deployment:
            return []
        }
    }

    private var firstDevice: DeviceID?

    /// The joystick's keys after an interrupt; pressing ENTER scrolls the temperature.
    public mutating func joystick(_ keys: JoystickKeys, now: Instant) -> [Action] {
        let pressed = keys.subtracting(heldKeys)
        heldKeys = keys
        guard pressed.contains(.enter), !scrolling else { return [] }
        let text = latestTemperature.map { "t: " + TextFormat.fixed($0, decimals: 2) } ?? "t: --"
        scrollFrames = ScrollText.frames(for: text, colour: colour)
        scrollGeneration += 1
        return [.scroll(text: text)] + step(0, now: now)
    }

    public mutating func timer(_ timer: DisplayTimer, now: Instant) -> [Action] {
        switch timer {
        case .scrollStep(let index):
            guard scrolling, index < scrollFrames.count else { return [] }
            return step(index, now: now)
        }
    }

    private mutating func step(_ index: Int, now: Instant) -> [Action] {
        let frame = scrollFrames[index]
        if index + 1 < scrollFrames.count {
            return [.write(frame, colour: "scroll", reason: "scroll"),
                    .schedule(.scrollStep(index + 1), at: now + Self.scrollStep)]
        }
        scrollFrames = []
        shown = nil
        return [.write(frame, colour: "scroll", reason: "scroll")] + refresh(reason: "scroll end")
    }

    private mutating func refresh(reason: String) -> [Action] {
        guard !scrolling else { return [] }
        let colour = colour
        guard colour != shown else { return [] }
        shown = colour
        return [.write(LEDFrame(filledWith: colour), colour: colour.statusName ?? "mixed", reason: reason)]
    }
}

extension DisplayComponent: HubComponent {
    public var name: String { "display" }
    public var subscriptions: [TopicFilter] { ["dt/local/sensor/+", "hbs/alerts/+", "hbs/health/#"] }
    public var publications: [TopicFilter] { [] }

    public mutating func handle(_ event: ComponentEvent<DisplayTimer>, now: Instant) -> [ComponentAction<DisplayTimer>] {
        let actions: [Action]
        switch event {
        case .start: actions = start()
        case .message(_, let message): actions = handle(message)
        case .timer(let due): actions = timer(due, now: now)
        case .input(.joystickInterrupt): return [.request(.readJoystick)]
        case .completion(.joystick(.success(let keys))):
            return [.record(.joystick(keys: keys.names))] + Self.map(joystick(keys, now: now))
        case .completion(.joystick(.failure(let error))):
            return [.record(.componentError(component: "joystick", error: error.description))]
        case .completion(.displayWritten(let error?)):
            return [.record(.componentError(component: "display", error: error.description))]
        case .completion, .command: return []
        }
        return Self.map(actions)
    }

    private static func map(_ actions: [Action]) -> [ComponentAction<DisplayTimer>] {
        var mapped: [ComponentAction<DisplayTimer>] = []
        for action in actions {
            switch action {
            case .write(let frame, let colour, let reason):
                mapped.append(.record(.displayWrite(colour: colour, reason: reason)))
                mapped.append(.request(.writeDisplay(frame)))
            case .scroll(let text): mapped.append(.record(.displayScroll(text: text)))
            case .schedule(let timer, let at): mapped.append(.schedule(timer, at: at))
            }
        }
        return mapped
    }
}
