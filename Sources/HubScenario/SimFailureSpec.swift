import HubCore
import HubSim

/// The command-line spelling of an appliance failure: `NAME@START[,for=D][,ramp=D]`.
public enum SimFailureSpec {
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public static var names: String { ApplianceFailure.allCases.map(\.rawValue).joined(separator: ", ") }

    public static func parse(_ text: String, kind: ApplianceKind, device: DeviceID) throws(ParseError) -> ScheduledFault {
        let parts = text.split(separator: ",").map(String.init)
        guard let head = parts.first else { throw ParseError(description: "empty failure") }
        let nameAndStart = head.split(separator: "@", maxSplits: 1).map(String.init)
        guard nameAndStart.count == 2 else { throw ParseError(description: "expected NAME@START, like blocked-filter@3d") }
        guard let failure = ApplianceFailure(rawValue: nameAndStart[0]) else {
            throw ParseError(description: "unknown failure '\(nameAndStart[0])' (known: \(names))")
        }
        guard failure.kind == kind else {
            throw ParseError(description: "\(failure.rawValue) is a \(failure.kind.rawValue) failure, not a \(kind.rawValue) one")
        }
        let start = try duration(nameAndStart[1], "START")
        var lasting: Duration?
        var ramp: Duration = .zero
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw ParseError(description: "expected key=value, found \(option.debugDescription)") }
            switch pair[0] {
            case "for":
                lasting = try duration(pair[1], "for")
                if lasting == .zero { throw ParseError(description: "for: a failure lasting 0s changes nothing") }
            case "ramp": ramp = try duration(pair[1], "ramp")
            default: throw ParseError(description: "unknown option '\(pair[0])' (known: for, ramp)")
            }
        }
        return ScheduledFault(at: start, duration: lasting, fault: .appliance(device: device, failure, ramp: ramp))
    }

    private static func duration(_ text: String, _ what: String) throws(ParseError) -> Duration {
        do { return try DurationText.parse(text) } catch { throw ParseError(description: "\(what): \(error)") }
    }
}
