import HubCore

/// Proves the LED matrix showed `colour`: at the end of the run, or at some time inside
/// a window (shown when the window opened, or a frame of that colour written within it).
/// Judged from the frames the matrix chip received, not from what the hub meant to show.
final class LEDChecker: HistoryChecker {
    private let context: CheckContext
    private let colour: String
    private let window: CheckWindow?
    /// What the matrix shows; a matrix nobody wrote to is dark.
    private var shown = "off"
    private var shownAtWindowStart = "off"
    private var hit: Instant?

    init(_ context: CheckContext, colour: String, after: Duration?, within: Duration?) {
        self.context = context
        self.colour = colour
        window = after.flatMap { after in within.map { context.window(after: after, within: $0) } }
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .ledFrame(let frameColour) = event else { return }
        shown = frameColour
        guard let window, hit == nil else { return }
        if time <= window.from {
            shownAtWindowStart = frameColour
        } else if time <= window.to, frameColour == colour {
            hit = time
        }
    }

    var violationAt: Instant? { window?.to ?? context.end }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let window else { return (shown == colour, "LED shows \(shown) at the end") }
        if let hit { return (true, "LED \(colour) from \(context.offset(hit))") }
        if shownAtWindowStart == colour { return (true, "LED already \(colour) at \(context.offset(window.from))") }
        return (false, "LED never \(colour) within \(window.text)")
    }
}
