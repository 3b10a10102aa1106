import HubCore

/// Proves the LED matrix scrolled a message starting with `prefix` inside the window, and
/// that text frames really reached the matrix (an announced scroll the chip never showed fails).
final class ScrollChecker: HistoryChecker {
    /// How long after an announced scroll its text frames may arrive.
    static let frameWindow: Duration = .seconds(60)

    private let context: CheckContext
    private let prefix: String
    private let window: CheckWindow
    private var hit: (time: Instant, text: String)?
    private var textFrames = 0

    init(_ context: CheckContext, prefix: String, after: Duration, within: Duration) {
        self.context = context
        self.prefix = prefix
        window = context.window(after: after, within: within)
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        switch event {
        case .displayScroll(let text) where hit == nil && window.contains(time) && text.hasPrefix(prefix):
            hit = (time, text)
        case .ledFrame("mixed"):
            // A text frame is any frame that is not one uniform status colour.
            if let hit, time >= hit.time, time <= hit.time + Self.frameWindow { textFrames += 1 }
        default:
            break
        }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        guard let hit else { return (false, "no scroll starting \(prefix.debugDescription) within \(window.text)") }
        guard textFrames > 0 else { return (false, "scroll \(hit.text.debugDescription) announced but no text frame reached the LED matrix") }
        return (true, "\(hit.text.debugDescription) at \(context.offset(hit.time)), \(textFrames) text frames on the matrix")
    }
}

/// Proves the matrix scrolled exactly `expected` messages over the run (a bouncing key
/// scrolls once, not once per bounce).
final class ScrollCountChecker: HistoryChecker {
    private let context: CheckContext
    private let expected: Int
    private var count = 0
    /// The first few scrolls, for the evidence.
    private var shown: [String] = []

    init(_ context: CheckContext, expected: Int) {
        self.context = context
        self.expected = expected
    }

    func observe(_ event: HistoryEvent, at time: Instant) {
        guard case .displayScroll(let text) = event else { return }
        count += 1
        if shown.count < 10 { shown.append("\(text.debugDescription)@\(context.offset(time))") }
    }

    func verdict() -> (passed: Bool, evidence: String) {
        let more = count > shown.count ? ", …" : ""
        return (count == expected, "\(count) scroll(s)\(shown.isEmpty ? "" : ": " + shown.joined(separator: ", ") + more)")
    }
}
