

/// Reads and writes durations the way scenarios spell them: `24h`, `1h30m`, `10s`, `500ms`, `2d`.
///
/// A strict little parser (no spaces, no signs, no fractions) so that a typo is an error
/// with the offending text, never a silently different duration. Every duration is at most
/// `maximum` (10 years), so sums of a few durations on top of any start the rig accepts
/// never overflow `Instant`.
public enum DurationText {
    /// The longest duration any spelling may have: 3653 days (ten years). `Instant` counts
    /// signed 64-bit nanoseconds and ends in April 2262; with scenario starts limited to
    /// `latestStart` (2200), start + duration + fault offsets stay decades inside that range.
    public static let maximum: Duration = .seconds(3653 * 86_400)
    /// The latest start time a scenario or export may name (2200-01-01T00:00:00Z).
    public static let latestStart = Instant(secondsSinceEpoch: 7_258_118_400)

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case missingNumber(String)
        case missingUnit(String)
        case unknownUnit(String, unit: String)
        case overflow(String)

        public var description: String {
            switch self {
            case .empty: "empty duration"
            case .missingNumber(let t): "\(t.debugDescription): expected a number before each unit"
            case .missingUnit(let t): "\(t.debugDescription): a number needs a unit (ms, s, m, h, d)"
            case .unknownUnit(let t, let unit): "\(t.debugDescription): unknown unit \(unit.debugDescription) (use ms, s, m, h, d)"
            case .overflow(let t): "\(t.debugDescription): longer than the maximum of \(DurationText.format(DurationText.maximum)) (10 years)"
            }
        }
    }

    static let units: [(String, Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
        ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        guard !text.isEmpty else { throw .empty }
        let bytes = Array(text.utf8)
        var index = 0
        var total: Int64 = 0
        while index < bytes.count {
            var number: Int64 = 0
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                let (times, o1) = number.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw .overflow(text) }
                number = sum
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw .missingNumber(text) }
            var unitEnd = index
            while unitEnd < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[unitEnd]) { unitEnd += 1 }
            guard unitEnd > index else { throw .missingUnit(text) }
            let unit = String(decoding: bytes[index..<unitEnd], as: UTF8.self)
            guard let scale = units.first(where: { $0.0 == unit })?.1 else { throw .unknownUnit(text, unit: unit) }
            let (part, o3) = number.multipliedReportingOverflow(by: scale)
            let (sum, o4) = total.addingReportingOverflow(part)
            guard !o3, !o4 else { throw .overflow(text) }
            total = sum
            index = unitEnd
        }
        guard total <= maximum.nanoseconds else { throw .overflow(text) }
        return .nanoseconds(total)
    }

    /// The shortest spelling in whole units (`90m` → `1h30m`); sub-millisecond parts are dropped.
    public static func format(_ duration: Duration) -> String {
        var remaining = duration.nanoseconds
        guard remaining > 0 else { return "0s" }
        var text = ""
        for (unit, scale) in units.reversed() where remaining >= scale {
            text += "\(remaining / scale)\(unit)"
            remaining %= scale
        }
        return text.isEmpty ? "0s" : text
    }

    /// A range as error messages and help state it: `1s...1h`.
    public static func format(_ range: ClosedRange<Duration>) -> String {
        "\(format(range.lowerBound))...\(format(range.upperBound))"
    }
}
