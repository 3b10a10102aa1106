import HubCore

/// The physical quantities a Sense HAT kit mounted on an appliance is exposed to.
///
/// Units: °C, %RH, hPa; `acceleration` in g including gravity (a kit lying flat reads
/// +1 g on z), `angularRate` in °/s, `magneticField` in gauss. Models fill in what their
/// kit can feel; the rest keeps its resting value.
public struct SensorEnvironment: Equatable, Sendable {
    public var temperature: Double
    public var humidity: Double
    public var pressure: Double
    public var acceleration: Vector3
    public var angularRate: Vector3
    public var magneticField: Vector3

    public init(temperature: Double, humidity: Double, pressure: Double,
                acceleration: Vector3 = .gravity, angularRate: Vector3 = .zero,
                magneticField: Vector3 = SensorEnvironment.earthField) {
        self.temperature = temperature
        self.humidity = humidity
        self.pressure = pressure
        self.acceleration = acceleration
        self.angularRate = angularRate
        self.magneticField = magneticField
    }

    /// A mid-latitude Earth field seen by a flat kit: about 0.2 G north, 0.45 G down.
    public static let earthField = Vector3(x: 0.2, y: 0, z: -0.45)
}

/// An appliance physics model as the chip models see it: conditions at an instant.
///
/// Models advance in fixed steps from the start of the run, so the value at an instant
/// does not depend on how often or in what order chips ask for it.
public protocol SensorEnvironmentSource: AnyObject {
    func environment(at instant: Instant) -> SensorEnvironment
    /// Only the acceleration: accelerometers sample hundreds of times a second and need
    /// nothing else, so models with costly other channels answer this directly.
    func acceleration(at instant: Instant) -> Vector3
}

extension SensorEnvironmentSource {
    public func acceleration(at instant: Instant) -> Vector3 { environment(at: instant).acceleration }
}

/// When a chip in continuous mode finishes conversions: every `period` after power-up.
///
/// Chip models latch lazily — only when the driver looks — but at the conversion instants
/// the chip would really have used, so reading less often never changes what is read.
struct ConversionSchedule {
    private(set) var next: Instant?
    private(set) var period: Duration?

    /// Starts (or restarts, on an ODR change) conversions; the first completes one period later.
    mutating func start(period: Duration?, now: Instant) {
        self.period = period
        next = period.map { now + $0 }
    }

    mutating func stop() {
        next = nil
        period = nil
    }

    /// The latest conversion instant ≤ `now` not yet latched, if any; advances past it.
    mutating func due(now: Instant) -> Instant? {
        guard let next, let period, next <= now else { return nil }
        let step = period.nanoseconds
        let skipped = (now.nanosecondsSinceEpoch - next.nanosecondsSinceEpoch) / step
        let latest = Instant(nanosecondsSinceEpoch: next.nanosecondsSinceEpoch + skipped * step)
        self.next = latest + period
        return latest
    }
}

/// Output data rates shared by the ST sensors' ODR fields (nil: one-shot mode).
func odrPeriod(hertz: Double?) -> Duration? {
    guard let hertz else { return nil }
    return .nanoseconds(Int64((1e9 / hertz).rounded()))
}
