/// A validated MQTT-style topic name that a message is published on (no wildcards).
///
/// The local bus and the cloud share MQTT's topic rules so the same names work on both
/// sides: levels separated by `/`, no `+` or `#` in a published name, no NUL, at most
/// 65,535 UTF-8 bytes.
public struct Topic: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String
    let levels: [Substring]

    public init(validating name: String) throws(TopicError) {
        try Topic.validateCommon(name)
        if name.contains(where: { $0 == "+" || $0 == "#" }) {
            throw .wildcardInTopicName(name)
        }
        self.name = name
        self.levels = Topic.levels(of: name)
    }

    /// For literals in code; a malformed literal is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(validating: value) } catch { preconditionFailure("invalid topic literal \(value): \(error)") }
    }

    public var description: String { name }

    static func validateCommon(_ name: String) throws(TopicError) {
        if name.isEmpty { throw .empty }
        if name.utf8.count > 65_535 { throw .tooLong(name.utf8.count) }
        if name.utf8.contains(0) { throw .containsNul(name) }
    }

    // Topics of the hub (DESIGN.md "Messages and topics").
    public static func sensorReading(_ device: DeviceID) -> Topic { Topic(unchecked: "dt/local/sensor/\(device)") }
    public static func inference(_ device: DeviceID) -> Topic { Topic(unchecked: "hbs/inference/\(device)") }
    public static func alert(_ device: DeviceID) -> Topic { Topic(unchecked: "hbs/alerts/\(device)") }
    public static func health(_ component: String) -> Topic { Topic(unchecked: "hbs/health/\(component)") }
    public static func cloudTelemetry(_ thing: String) -> Topic { Topic(unchecked: "hbs/\(thing)/telemetry") }
    public static func cloudAlerts(_ thing: String) -> Topic { Topic(unchecked: "hbs/\(thing)/alerts") }
    public static func cloudHealth(_ thing: String) -> Topic { Topic(unchecked: "hbs/\(thing)/health") }
    /// Where the hub's deployment agent reports each step on the bus.
    public static let deploymentStatus = Topic(unchecked: "hbs/deployments/status")
    public static func cloudDeployments(_ thing: String) -> Topic { Topic(unchecked: "hbs/\(thing)/deployments") }
    public static func cloudDeploymentStatus(_ thing: String) -> Topic { Topic(unchecked: "hbs/\(thing)/deployments/status") }

    /// Builds a topic from parts already known to be valid (device IDs are validated).
    init(unchecked name: String) {
        self.name = name
        self.levels = Topic.levels(of: name)
    }

    /// `name` split at every `/`, empty levels kept — what `split(separator: "/",
    /// omittingEmptySubsequences: false)` gives. An ASCII name is split on its bytes: there
    /// every character is one byte, so the levels are the same, and walking characters (which
    /// must look for grapheme clusters) cost ten thousand instructions a topic. Other names
    /// are split by characters as before.
    public static func levels(of name: String) -> [Substring] {
        let utf8 = name.utf8
        guard !utf8.contains(where: { $0 >= 0x80 }) else { return name.split(separator: "/", omittingEmptySubsequences: false) }
        var levels: [Substring] = []
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                levels.append(name[start..<index])
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        levels.append(name[start..<utf8.endIndex])
        return levels
    }
}

/// A subscription filter with MQTT wildcards: `+` matches one level, a final `#` any rest.
public struct TopicFilter: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let pattern: String
    let levels: [Substring]

    public init(validating pattern: String) throws(TopicError) {
        try Topic.validateCommon(pattern)
        let levels = Topic.levels(of: pattern)
        for (index, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || index != levels.count - 1) {
                throw .misplacedMultiLevelWildcard(pattern)
            }
            if level.contains("+") && level != "+" {
                throw .misplacedSingleLevelWildcard(pattern)
            }
        }
        self.pattern = pattern
        self.levels = levels
    }

    public init(stringLiteral value: String) {
        do { try self.init(validating: value) } catch { preconditionFailure("invalid filter literal \(value): \(error)") }
    }

    public var description: String { pattern }

    /// MQTT 3.1.1 §4.7 matching, including "a/#" matching "a" and `$`-topics not matching
    /// a leading wildcard.
    public func matches(_ topic: Topic) -> Bool {
        if topic.name.hasPrefix("$"), let first = levels.first, first == "+" || first == "#" {
            return false
        }
        var index = 0
        for level in levels {
            if level == "#" { return true }
            if index >= topic.levels.count { return false }
            if level != "+" && level != topic.levels[index] { return false }
            index += 1
        }
        if index == topic.levels.count { return true }
        return false
    }

    /// Whether every topic `other` can match is matched by this filter too: the question an
    /// access policy asks of a subscription (`a/+` covers `a/b` and `a/+`, not `a/#`).
    public func covers(_ other: TopicFilter) -> Bool {
        if other.pattern.hasPrefix("$") != pattern.hasPrefix("$"), levels.first == "+" || levels.first == "#" { return false }
        for (index, level) in levels.enumerated() {
            if level == "#" { return true }
            guard index < other.levels.count else { return false }
            let theirs = other.levels[index]
            if theirs == "#" { return false }
            if level == "+" { continue }
            if theirs == "+" || theirs != level { return false }
        }
        // `a/#` matches `a` too, so a filter ending in `#` is covered only by one ending in `#`.
        return other.levels.count == levels.count
    }
}

/// Why a topic name or filter was rejected.
public enum TopicError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case containsNul(String)
    case wildcardInTopicName(String)
    case misplacedMultiLevelWildcard(String)
    case misplacedSingleLevelWildcard(String)

    public var description: String {
        switch self {
        case .empty: "topic is empty"
        case .tooLong(let n): "topic is \(n) bytes long; the limit is 65535"
        case .containsNul(let t): "topic \(t.debugDescription) contains a NUL character"
        case .wildcardInTopicName(let t): "topic name \(t) contains a wildcard (+ or #); only filters may"
        case .misplacedMultiLevelWildcard(let t): "filter \(t): '#' must be a whole level and the last one"
        case .misplacedSingleLevelWildcard(let t): "filter \(t): '+' must be a whole level"
        }
    }
}
