/// A telemetry channel of a reading, named by the book's JSON keys.
///
/// The case order is the canonical key order in payloads, so a reading always encodes
/// its channels the same way whatever order a driver produced them in.
public enum Channel: Int, CaseIterable, Sendable, CustomStringConvertible {
    case temperature
    case humidity
    case pressure
    case vibration
    case dutyCycles
    /// The LPS25H's own thermometer: a second opinion on `temperature`, never published.
    /// The hub compares the two to tell a drifting sensor from a changing appliance.
    case referenceTemperature

    /// The channels a reading on the bus can carry (the book's keys), in canonical order.
    public static let published: [Channel] = allCases.filter(\.isPublished)

    /// Whether readings carry this channel; `referenceTemperature` stays inside the hub.
    public var isPublished: Bool { self != .referenceTemperature }

    /// The JSON key (`duty_cycles` keeps the book's snake case).
    public var key: String {
        switch self {
        case .temperature: "temperature"
        case .humidity: "humidity"
        case .pressure: "pressure"
        case .vibration: "vibration"
        case .dutyCycles: "duty_cycles"
        case .referenceTemperature: "reference_temperature"
        }
    }

    /// The published channel with this key (the hub-internal `referenceTemperature` has none outside).
    public init?(key: String) {
        guard let match = Channel.published.first(where: { $0.key == key }) else { return nil }
        self = match
    }

    public var description: String { key }

    /// Decimals a reading keeps: finer than the channel's accuracy, and stable as text.
    public var decimals: Int {
        switch self {
        case .vibration: 4
        default: 2
        }
    }

    /// `value` rounded to this channel's decimals.
    public func rounded(_ value: Double) -> Double {
        let scale: Double = decimals == 4 ? 10_000 : 100
        return (value * scale).rounded() / scale
    }

    /// Unit of the channel's value, for reports.
    public var unit: String {
        switch self {
        case .temperature, .referenceTemperature: "°C"
        case .humidity: "%RH"
        case .pressure: "hPa"
        case .vibration: "g RMS"
        case .dutyCycles: "% of the last hour"
        }
    }
}

/// The values of one reading, one optional slot per channel in canonical order.
///
/// A fixed array instead of a dictionary: iteration order is the channel order, always.
public struct ChannelValues: Equatable, Sendable, Sequence {
    /// Slots are indexed by raw value, which runs 0, 1, … in `allCases` order. Counted once:
    /// `allCases` builds a new array on every call, and every reading makes a `ChannelValues`.
    private static let channelCount = Channel.allCases.count
    private var slots: [Double?] = Array(repeating: nil, count: channelCount)

    public init() {}

    public init(_ pairs: [(Channel, Double)]) {
        for (channel, value) in pairs { self[channel] = value }
    }

    public subscript(channel: Channel) -> Double? {
        get { slots[channel.rawValue] }
        set { slots[channel.rawValue] = newValue }
    }

    public var isEmpty: Bool { slots.allSatisfy { $0 == nil } }

    /// The present channels with their values, in channel order, read straight from the
    /// slots (readings are walked several times each: rounding, JSON, detectors, checkers).
    public struct Iterator: IteratorProtocol {
        private let slots: [Double?]
        private var index = 0

        init(slots: [Double?]) {
            self.slots = slots
        }

        public mutating func next() -> (Channel, Double)? {
            while index < slots.count {
                let slot = index
                index += 1
                if let value = slots[slot], let channel = Channel(rawValue: slot) { return (channel, value) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(slots: slots) }
}
