/// The identifier of a monitored appliance (`hvac`, `washer`, ...), used in topics and payloads.
///
/// It becomes a topic level and a JSON string, so it is restricted to a safe alphabet:
/// 1–32 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter.
public struct DeviceID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(validating rawValue: String) throws(DeviceIDError) {
        guard let first = rawValue.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            throw DeviceIDError(value: rawValue, reason: "must start with a lowercase letter")
        }
        guard rawValue.utf8.count <= 32 else {
            throw DeviceIDError(value: rawValue, reason: "must be at most 32 characters")
        }
        for byte in rawValue.utf8 {
            let ok = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            guard ok else {
                throw DeviceIDError(value: rawValue, reason: "may only contain a-z, 0-9, '-' and '_'")
            }
        }
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        do { try self.init(validating: value) } catch { preconditionFailure("\(error)") }
    }

    public var description: String { rawValue }
    public static func < (lhs: DeviceID, rhs: DeviceID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A device or thing name that breaks the naming rule, with the rule it breaks.
public struct DeviceIDError: Error, Equatable, Sendable, CustomStringConvertible {
    public let value: String
    public let reason: String
    public var description: String { "invalid id \(value.debugDescription): \(reason)" }
}
