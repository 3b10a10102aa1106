import HubCore

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

/// Puts sensor faults between an appliance model and the chips that sense it.
public final class FaultableEnvironment: SensorEnvironmentSource {
    private let source: any SensorEnvironmentSource
    private var random: SeededRandom
    private struct Active {
        let fault: SensorFault
        let since: Instant
        let frozen: SensorEnvironment
    }
    private var active: [Active] = []

    public init(source: any SensorEnvironmentSource, random: SeededRandom) {
        self.source = source
        self.random = random
    }

    public func start(_ fault: SensorFault, at instant: Instant) {
        active.append(Active(fault: fault, since: instant, frozen: source.environment(at: instant)))
    }

    public func end(_ fault: SensorFault) {
        if let index = active.firstIndex(where: { $0.fault == fault }) { active.remove(at: index) }
    }

    public func acceleration(at instant: Instant) -> Vector3 {
        for fault in active where fault.fault == .stuck(channel: .vibration) { return fault.frozen.acceleration }
        return source.acceleration(at: instant)
    }

    public func environment(at instant: Instant) -> SensorEnvironment {
        var environment = source.environment(at: instant)
        guard !active.isEmpty else { return environment }
        for fault in active {
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
        case .temperature: environment.temperature
        case .humidity: environment.humidity
        case .pressure: environment.pressure
        case .vibration, .dutyCycles: 0
        }
    }

    private static func adjust(_ environment: inout SensorEnvironment, _ channel: Channel, _ change: (Double) -> Double) {
        switch channel {
        case .temperature: environment.temperature = change(environment.temperature)
        case .humidity: environment.humidity = min(100, max(0, change(environment.humidity)))
        case .pressure: environment.pressure = change(environment.pressure)
        case .vibration, .dutyCycles: break
        }
    }
}
