import HubCore
import HubKernel

// Fault model of the sensing elements (fault names `sensor.<device>.<kind>`): what the
// physics looks like to a kit whose sensor is going bad, applied between the appliance
// model and the chip models, so the chips, the bus and the drivers all behave normally.
// - `drift` (channel, rate per hour): an offset growing linearly from the fault's start,
//   like an ageing humidity element; gone when the fault ends.
// - `spike` (channel, magnitude, probability): each conversion is off by ±magnitude with
//   the given probability (interference, a droplet on the element).
// - `stuck` (channel): the element reports the value it had when the fault began.
// Channels: temperature, humidity, pressure; `stuck` also takes vibration (the element
// then reports the resting acceleration it saw at the start).
// Each fault sits on one chip's element: temperature and humidity on the HTS221's (where
// readings take them from), pressure on the LPS25H's, vibration on the LSM9DS1's; a
// temperature fault may instead sit on the LPS25H's thermometer (`chip: lps25h`). The
// other chips keep seeing the true conditions.

/// A sensing-element fault on one channel of one kit.
public enum SensorFault: Equatable, Sendable {
    case drift(channel: Channel, perHour: Double)
    case spike(channel: Channel, magnitude: Double, probability: Double)
    case stuck(channel: Channel)

    public var kind: String {
        switch self {
        case .drift: "drift"
        case .spike: "spike"
        case .stuck: "stuck"
        }
    }

    public var channel: Channel {
        switch self {
        case .drift(let c, _), .spike(let c, _, _), .stuck(let c): c
        }
    }
}

extension SenseHATChip {
    /// The chips whose sensing elements measure `channel`, the one readings take it from
    /// first: temperature is the HTS221's, with the LPS25H's thermometer as a second opinion.
    public static func measuring(_ channel: Channel) -> [SenseHATChip] {
        switch channel {
        case .temperature: [.hts221, .lps25h]
        case .referenceTemperature: [.lps25h]
        case .humidity: [.hts221]
        case .pressure: [.lps25h]
        case .vibration, .dutyCycles: [.lsm9ds1]
        }
    }
}

/// Puts sensor faults between an appliance model and the chips that sense it.
///
/// Each chip sees the conditions through its own elements (`element(_:)`), so a fault on
/// one chip's thermometer leaves the other's alone — which is what lets a hub with two
/// thermometers notice that one of them drifts.
public final class FaultableEnvironment: FaultApplying {
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private struct Active {
        let fault: SensorFault
        let chip: SenseHATChip
        let since: Instant
        let frozen: SensorEnvironment
    }
    private var active: [Active] = []

    public init(source: any SensorEnvironmentSource, random: SeededRandom) {
        self.source = source
        self.random = random
    }

    /// The sensor faults (`sensor.<device>.drift|spike|stuck`), on the element the fault names.
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .sensor(_, let sensorFault, let chip) = fault else { preconditionFailure("\(fault.name) routed to sensing elements") }
        if active { start(sensorFault, on: chip, at: now) } else { end(sensorFault, on: chip) }
    }

    /// Starts `fault` on the element of `chip` that measures the fault's channel.
    public func start(_ fault: SensorFault, on chip: SenseHATChip, at instant: Instant) {
        precondition(SenseHATChip.measuring(fault.channel).contains(chip), "\(chip) does not measure \(fault.channel)")
        active.append(Active(fault: fault, chip: chip, since: instant, frozen: source.environment(at: instant)))
    }

    public func end(_ fault: SensorFault, on chip: SenseHATChip) {
        if let index = active.firstIndex(where: { $0.fault == fault && $0.chip == chip }) { active.remove(at: index) }
    }

    /// The conditions as `chip`'s sensing elements report them.
    public func element(_ chip: SenseHATChip) -> any SensorEnvironmentSource { SensingElements(faults: self, chip: chip) }

    func acceleration(at instant: Instant, seenBy chip: SenseHATChip) -> Vector3 {
        for fault in active where fault.chip == chip && fault.fault == .stuck(channel: .vibration) { return fault.frozen.acceleration }
        return source.acceleration(at: instant)
    }

    func environment(at instant: Instant, seenBy chip: SenseHATChip) -> SensorEnvironment {
        var environment = source.environment(at: instant)
        for fault in active where fault.chip == chip {
            switch fault.fault {
            case .drift(let channel, let perHour):
                let hours = (instant - fault.since).secondsValue / 3600
                Self.adjust(&environment, channel) { $0 + perHour * hours }
            case .spike(let channel, let magnitude, let probability):
                if random.chance(probability) {
                    let sign: Double = random.chance(0.5) ? 1 : -1
                    Self.adjust(&environment, channel) { $0 + sign * magnitude }
                }
            case .stuck(let channel):
                if channel == .vibration {
                    environment.acceleration = fault.frozen.acceleration
                } else {
                    Self.adjust(&environment, channel) { _ in Self.value(fault.frozen, channel) }
                }
            }
        }
        return environment
    }

    private static func value(_ environment: SensorEnvironment, _ channel: Channel) -> Double {
        switch channel {
        case .temperature, .referenceTemperature: environment.temperature
        case .humidity: environment.humidity
        case .pressure: environment.pressure
        case .vibration, .dutyCycles: 0
        }
    }

    private static func adjust(_ environment: inout SensorEnvironment, _ channel: Channel, _ change: (Double) -> Double) {
        switch channel {
        case .temperature, .referenceTemperature: environment.temperature = change(environment.temperature)
        case .humidity: environment.humidity = min(100, max(0, change(environment.humidity)))
        case .pressure: environment.pressure = change(environment.pressure)
        case .vibration, .dutyCycles: break
        }
    }
}

/// One chip's view of the conditions, through its own (possibly faulty) sensing elements.
private final class SensingElements: SensorEnvironmentSource {
    let faults: FaultableEnvironment
    let chip: SenseHATChip

    init(faults: FaultableEnvironment, chip: SenseHATChip) {
        self.faults = faults
        self.chip = chip
    }

    func environment(at instant: Instant) -> SensorEnvironment { faults.environment(at: instant, seenBy: chip) }
    func acceleration(at instant: Instant) -> Vector3 { faults.acceleration(at: instant, seenBy: chip) }
}

extension FaultableEnvironment {
    /// The sensing-element faults (`sensor.<device>.<kind>`), as the fault model above describes them.
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "sensor", name: "drift",
                  parameters: [channel(physical),
                               FaultParameter("rate", .number(-1000...1000, nonZero: true), unit: "per hour, in the channel's unit",
                                              summary: "how fast the reading walks away"),
                               chip],
                  summary: "the element's reading drifts", port: "FaultableEnvironment") {
            .sensor(device: $0.device, .drift(channel: $1.channel("channel"), perHour: $1.number("rate")), chip: $1.chip("chip"))
        },
        FaultKind(layer: "sensor", name: "spike",
                  parameters: [channel(physical),
                               FaultParameter("magnitude", .number(0.001...1000, nonZero: true), unit: "the channel's unit",
                                              summary: "size of each jump"),
                               FaultParameter("probability", .probability, default: "1", summary: "chance per conversion"),
                               chip],
                  summary: "conversions jump by ±magnitude", port: "FaultableEnvironment") {
            .sensor(device: $0.device, .spike(channel: $1.channel("channel"), magnitude: $1.number("magnitude"),
                                              probability: $1.number("probability")), chip: $1.chip("chip"))
        },
        FaultKind(layer: "sensor", name: "stuck", parameters: [channel(physical + [.vibration]), chip],
                  summary: "the element keeps reporting the value it had", port: "FaultableEnvironment") {
            .sensor(device: $0.device, .stuck(channel: $1.channel("channel")), chip: $1.chip("chip"))
        },
    ]

    private static let physical: [Channel] = [.temperature, .humidity, .pressure]

    private static func channel(_ channels: [Channel]) -> FaultParameter {
        FaultParameter("channel", .channel(channels), summary: "the quantity whose element fails (the kit must measure it)")
    }

    private static let chip = FaultParameter("chip", .chip, default: "where readings take the channel from",
                                             summary: "whose element fails: temperature may sit on the LPS25H's own thermometer")
}
