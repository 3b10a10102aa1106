import Foundation
import HubCore

// Physics of a gas forced-air furnace with the Sense HAT kit in the supply-air plenum.
// Figures from reference/appliances.md ("Gas forced-air furnace"); where it gives a range
// the unit draws its own value from the seed.
//
// - House air node: dT/dt = gain·flame − loss·(T − T_outdoor). loss = 0.15 /h gives
//   ≈3 °C/h cooling at a 20 K difference (the air near the thermostat, faster than the
//   1–2 °C/h of the whole building); gain = 6 °C/h. With a 0.5 °C differential that is
//   ~10 min on / ~10 min off at 50 % load: the 3 CPH a thermostat maker rates.
// - Thermostat: setpoint 20.5–21.5 °C, differential 0.5 °C, minimum on-time 4 min.
// - Ignition: 15 s pre-purge, 17 s igniter warm-up, flame; blower on 30 s after gas,
//   off 60–180 s (drawn) after the flame goes out.
// - Supply air: approaches return + rise (rise drawn in 30–45 K, inside a 17 K-wide
//   nameplate band) with τ = 45 s while flame and blower run; falls back to the room with
//   τ = 60 s on blower only, τ = 600 s in still air. The high limit (71 °C) is not reached
//   on a normal day; it matters once failures arrive.
// - Humidity: the room's vapour pressure (35 ± 3 %RH at room temperature, a slow daily
//   swing) seen at supply temperature, so RH falls as the air heats (Magnus formula).
// - Pressure: the house's (HouseWeather).
//
// Fixed 1-second steps from the start of the run: the state at an instant never depends
// on how often chips look.

/// A furnace and the room it heats, as seen by a kit in the supply plenum.
public final class FurnaceModel: SensorEnvironmentSource {
    public enum Phase: String, Sendable {
        case idle
        case prePurge
        case ignition
        case heating
        case blowerOff
    }

    private let weather: HouseWeather
    private let start: Instant
    private var stepIndex: Int64 = 0
    private var random: SeededRandom

    // Unit constants.
    let setpoint: Double
    let differential = 0.5
    let rise: Double
    let blowerOffDelay: Double
    static let gainPerHour = 6.0
    static let lossPerHour = 0.15
    static let minimumOnSeconds = 240.0
    static let prePurgeSeconds = 15.0
    static let ignitionSeconds = 17.0
    static let blowerDelaySeconds = 30.0

    // State.
    public private(set) var phase: Phase = .idle
    private var phaseSeconds = 0.0
    public private(set) var roomTemperature: Double
    public private(set) var supplyTemperature: Double
    public private(set) var flameOn = false
    public private(set) var blowerOn = false
    /// Completed burner cycles since the start (a flame that went out counts one).
    public private(set) var burnerCycles = 0
    private let humidityPhase: Double

    public init(weather: HouseWeather, start: Instant, random: SeededRandom) {
        self.weather = weather
        self.start = start
        var random = random
        setpoint = random.nextDouble(in: 20.5...21.5)
        rise = random.nextDouble(in: 30...45)
        blowerOffDelay = random.nextDouble(in: 60...180)
        roomTemperature = setpoint + random.nextDouble(in: -0.25...0.25)
        supplyTemperature = roomTemperature
        humidityPhase = random.nextDouble(in: 0...(2 * Double.pi))
        self.random = random
    }

    public func environment(at instant: Instant) -> SensorEnvironment {
        advance(to: instant)
        let vapour = roomHumidity(at: instant) / 100 * Self.saturationVapourPressure(roomTemperature)
        let rh = min(100, 100 * vapour / Self.saturationVapourPressure(supplyTemperature))
        return SensorEnvironment(temperature: supplyTemperature, humidity: rh, pressure: weather.pressure(at: instant))
    }

    /// Room relative humidity: 35 %RH with a ±3 %RH daily swing.
    private func roomHumidity(at instant: Instant) -> Double {
        let hours = Double((instant.nanosecondsSinceEpoch / 1_000_000_000) % 86_400) / 3600
        return 35 + 3 * sin(2 * Double.pi * hours / 24 + humidityPhase)
    }

    /// Magnus formula over water, hPa.
    static func saturationVapourPressure(_ celsius: Double) -> Double {
        6.112 * exp(17.62 * celsius / (243.12 + celsius))
    }

    private func advance(to instant: Instant) {
        let target = (instant.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch) / 1_000_000_000
        while stepIndex < target {
            step(at: start + .seconds(stepIndex))
            stepIndex += 1
        }
    }

    private func step(at instant: Instant) {
        let dt = 1.0
        phaseSeconds += dt
        let callForHeat: Bool
        switch phase {
        case .idle, .blowerOff:
            callForHeat = roomTemperature < setpoint - differential / 2
        case .prePurge, .ignition, .heating:
            callForHeat = roomTemperature < setpoint + differential / 2
                || (phase == .heating && phaseSeconds < Self.minimumOnSeconds)
        }
        switch phase {
        case .idle:
            if callForHeat { enter(.prePurge) }
        case .prePurge:
            if phaseSeconds >= Self.prePurgeSeconds { enter(.ignition) }
        case .ignition:
            if phaseSeconds >= Self.ignitionSeconds { enter(.heating); flameOn = true }
        case .heating:
            if phaseSeconds >= Self.blowerDelaySeconds { blowerOn = true }
            if !callForHeat {
                flameOn = false
                burnerCycles += 1
                enter(.blowerOff)
            }
        case .blowerOff:
            if callForHeat {
                enter(.prePurge)
            } else if phaseSeconds >= blowerOffDelay {
                blowerOn = false
                enter(.idle)
            }
        }
        let outdoor = weather.outdoorTemperature(at: instant)
        let heating = flameOn ? Self.gainPerHour : 0
        roomTemperature += (heating - Self.lossPerHour * (roomTemperature - outdoor)) * dt / 3600
        let target: Double
        let tau: Double
        if flameOn && blowerOn {
            target = roomTemperature + rise; tau = 45
        } else if flameOn {
            target = roomTemperature + rise * 1.3; tau = 90  // heat exchanger soaking before the blower starts
        } else if blowerOn {
            target = roomTemperature; tau = 60
        } else {
            target = roomTemperature; tau = 600
        }
        supplyTemperature += (target - supplyTemperature) * dt / tau
    }

    private func enter(_ next: Phase) {
        phase = next
        phaseSeconds = 0
    }
}
