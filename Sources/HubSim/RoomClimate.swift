import Foundation
import HubCore

// Shared pieces of the appliance physics that sit indoors (washer, fridge).
//
// Room air: the heated house keeps 20–22 °C (mean drawn per room) with a ±0.5 °C daily
// swing, coolest at 05:00 (night setback and no sun; no source, a small swing chosen so
// the appliances see a drifting but plausible ambient). Room humidity: 35–45 %RH mean
// (the brief's winter indoor band, inside the 25–40 %RH study figure widened for rooms
// with cooking and laundry) with a ±3 %RH daily swing at a drawn phase.
// Vapour pressure: Magnus formula over water (WMO constants), hPa.

/// The air of the room an appliance stands in: temperature and humidity over the day.
struct RoomClimate {
    let meanTemperature: Double
    let meanHumidity: Double
    let humidityPhase: Double
    static let temperatureSwing = 0.5
    static let humiditySwing = 3.0

    init(random: inout SeededRandom) {
        meanTemperature = random.nextDouble(in: 20...22)
        meanHumidity = random.nextDouble(in: 35...45)
        humidityPhase = random.nextDouble(in: 0...(2 * Double.pi))
    }

    /// Room air temperature, °C.
    func temperature(at instant: Instant) -> Double {
        meanTemperature - Self.temperatureSwing * cos(2 * Double.pi * (Self.hoursOfDay(instant) - 5) / 24)
    }

    /// Room relative humidity, %RH.
    func humidity(at instant: Instant) -> Double {
        meanHumidity + Self.humiditySwing * sin(2 * Double.pi * Self.hoursOfDay(instant) / 24 + humidityPhase)
    }

    /// Hours since midnight; the simulated house keeps UTC.
    static func hoursOfDay(_ instant: Instant) -> Double {
        Double(epochSecond(instant) % 86_400) / 3600
    }

    /// Whole seconds since the epoch, rounded down also before 1970.
    static func epochSecond(_ instant: Instant) -> Int64 {
        let ns = instant.nanosecondsSinceEpoch
        return ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
    }

    /// Saturation vapour pressure over water, hPa (Magnus formula).
    static func saturationVapourPressure(_ celsius: Double) -> Double {
        6.112 * exp(17.62 * celsius / (243.12 + celsius))
    }
}

/// Broadband noise as a pure function of the instant.
///
/// The accelerometer model samples vibration at 238 Hz at instants of its own choosing;
/// drawing that noise from a stream would make the value at an instant depend on how many
/// samples were taken before it. Hashing the instant instead (seeded once per model) gives
/// the same sample for the same instant whoever asks, in whatever order.
enum InstantNoise {
    /// A 64-bit hash of (`key`, `instant`, `channel`): SplitMix64's finaliser.
    static func hash(key: UInt64, at instant: Instant, channel: UInt64) -> UInt64 {
        var z = key ^ (UInt64(bitPattern: instant.nanosecondsSinceEpoch) &* 0x9E37_79B9_7F4A_7C15) ^ (channel &* 0xD1B5_4A32_D192_ED03)
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Approximately standard normal deviate for (`key`, `instant`, `channel`): the
    /// Irwin–Hall sum of the hash's four 16-bit quarters (tails end at ±3.46 σ). Cheap
    /// enough for accelerations sampled at 238 Hz; exact tails do not matter for rumble.
    static func gaussian(key: UInt64, at instant: Instant, channel: UInt64) -> Double {
        let bits = hash(key: key, at: instant, channel: channel)
        let sum = Double(bits & 0xFFFF) + Double((bits >> 16) & 0xFFFF) + Double((bits >> 32) & 0xFFFF) + Double(bits >> 48)
        return (sum / 65_536 - 2) * 3.0.squareRoot()
    }

    /// Three independent deviates scaled by `sigma`, or zero when `sigma` is zero.
    static func vector(key: UInt64, at instant: Instant, sigma: Double) -> Vector3 {
        guard sigma > 0 else { return .zero }
        return Vector3(x: gaussian(key: key, at: instant, channel: 1),
                       y: gaussian(key: key, at: instant, channel: 2),
                       z: gaussian(key: key, at: instant, channel: 3)) * sigma
    }
}

/// Per-second snapshots of a model's state, so recent instants are answered exactly.
///
/// Physics steps forward only. A chip that latches lazily may ask for an instant a little
/// before the latest step another chip caused; answering from the current state would make
/// the value depend on query order. The ring keeps the last `capacity` seconds.
struct SecondHistory<Entry> {
    private var entries: [Entry]
    private(set) var latest: Int64 = 0
    static var capacity: Int64 { 256 }

    init(first: Entry) {
        entries = [Entry](repeating: first, count: Int(Self.capacity))
    }

    mutating func record(_ entry: Entry, second: Int64) {
        latest = second
        entries[Int(second % Self.capacity)] = entry
    }

    /// The entry for `second`, clamped to the oldest kept and to zero.
    func entry(second: Int64) -> (second: Int64, entry: Entry) {
        let clamped = min(latest, max(second, 0, latest - Self.capacity + 1))
        return (clamped, entries[Int(clamped % Self.capacity)])
    }
}

/// An appliance in a room whose kit feels the room's air and the appliance's shaking:
/// one per-second snapshot answers temperature and humidity, the acceleration is worked
/// out for the exact instant, and pressure is the house's.
protocol RoomApplianceModel: SensorEnvironmentSource {
    associatedtype Snapshot: RoomSnapshot
    var weather: HouseWeather { get }
    func stateAndAcceleration(at instant: Instant) -> (Snapshot, Vector3)
}

/// The room-air part of a model's per-second snapshot.
protocol RoomSnapshot {
    var temperature: Double { get }
    var humidity: Double { get }
}

extension RoomApplianceModel {
    public func environment(at instant: Instant) -> SensorEnvironment {
        let (state, acceleration) = stateAndAcceleration(at: instant)
        return SensorEnvironment(temperature: state.temperature, humidity: state.humidity,
                                 pressure: weather.pressure(at: instant), acceleration: acceleration)
    }

    public func acceleration(at instant: Instant) -> Vector3 { stateAndAcceleration(at: instant).1 }
}
