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
/// Fixed slots instead of a dictionary: iteration order is the channel order, always.
/// The slots are stored inline (one stored value per channel and a bit per present one)
/// rather than in an array: every poll makes several of these and every reading is copied
/// onto the bus, into the history and through the checkers, and an array made each one a
/// heap allocation and each copy a retain and release.
public struct ChannelValues: Equatable, Sendable, Sequence {
    private var temperature = 0.0
    private var humidity = 0.0
    private var pressure = 0.0
    private var vibration = 0.0
    private var dutyCycles = 0.0
    private var referenceTemperature = 0.0
    /// Bit `channel.rawValue` set: that channel has a value.
    private var present: UInt8 = 0

    public init() {}

    public init(_ pairs: [(Channel, Double)]) {
        for (channel, value) in pairs { self[channel] = value }
    }

    /// The stored value of `channel`'s slot, present or not.
    private func stored(_ channel: Channel) -> Double {
        switch channel {
        case .temperature: temperature
        case .humidity: humidity
        case .pressure: pressure
        case .vibration: vibration
        case .dutyCycles: dutyCycles
        case .referenceTemperature: referenceTemperature
        }
    }

    private mutating func store(_ value: Double, _ channel: Channel) {
        switch channel {
        case .temperature: temperature = value
        case .humidity: humidity = value
        case .pressure: pressure = value
        case .vibration: vibration = value
        case .dutyCycles: dutyCycles = value
        case .referenceTemperature: referenceTemperature = value
        }
    }

    public subscript(channel: Channel) -> Double? {
        get { present & (1 << channel.rawValue) != 0 ? stored(channel) : nil }
        set {
            // An absent slot holds 0, so two values with the same channels present compare
            // equal exactly when their present values do.
            store(newValue ?? 0, channel)
            if newValue != nil { present |= 1 << channel.rawValue } else { present &= ~(1 << channel.rawValue) }
        }
    }

    public var isEmpty: Bool { present == 0 }

    /// Equal when the same channels are present with equal values (`==` on each `Double`,
    /// as the optional slots compared before).
    public static func == (lhs: ChannelValues, rhs: ChannelValues) -> Bool {
        guard lhs.present == rhs.present else { return false }
        return Channel.allChannels.allSatisfy { lhs[$0] == rhs[$0] }
    }

    /// The present channels with their values, in channel order, read straight from the
    /// slots (readings are walked several times each: rounding, JSON, detectors, checkers).
    public struct Iterator: IteratorProtocol {
        private let values: ChannelValues
        private var index = 0

        init(values: ChannelValues) {
            self.values = values
        }

        public mutating func next() -> (Channel, Double)? {
            while let channel = Channel(rawValue: index) {
                index += 1
                if let value = values[channel] { return (channel, value) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(values: self) }
}

extension Channel {
    /// Every channel in case order, made once (`allCases` builds a new array on every call).
    static let allChannels = allCases
}
