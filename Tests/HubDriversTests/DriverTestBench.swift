import Foundation
import HubCore
import HubDrivers
import HubSim

/// A fixed clock the tests move by hand.
final class ManualClock: HubClock {
    var now: Instant
    init(_ now: Instant = Instant(secondsSinceEpoch: 1_768_435_200)) { self.now = now }
    func advance(_ duration: Duration) { now = now + duration }
}

/// A physics stand-in that reports constant conditions the test chooses.
final class FixedEnvironment: SensorEnvironmentSource {
    var environment: SensorEnvironment
    init(temperature: Double, humidity: Double, pressure: Double) {
        environment = SensorEnvironment(temperature: temperature, humidity: humidity, pressure: pressure)
    }
    func environment(at instant: Instant) -> SensorEnvironment { environment }
}

/// A register-level chip that answers every read with one byte (an impostor at an address).
final class ImpostorChip: SimI2CDevice {
    let value: UInt8
    init(value: UInt8) { self.value = value }
    func write(_ bytes: [UInt8], now: Instant) {}
    func read(count: Int, now: Instant) -> [UInt8] { Array(repeating: value, count: count) }
}

/// A simulated bus with an HTS221 and an LPS25H model on it.
struct SensorBench {
    let clock = ManualClock()
    let bus: SimI2CBus
    let environment: FixedEnvironment
    let hts221: HTS221Model
    let lps25h: LPS25HModel

    init(calibration: HTS221Calibration = .reference, seed: UInt64 = 1,
         temperature: Double = 21, humidity: Double = 40, pressure: Double = 1013) {
        var random = SeededRandom(seed: seed)
        environment = FixedEnvironment(temperature: temperature, humidity: humidity, pressure: pressure)
        bus = SimI2CBus(clock: clock, random: random.split("bus"))
        hts221 = HTS221Model(calibration: calibration, source: environment, random: random.split("hts221"))
        lps25h = LPS25HModel(source: environment, random: random.split("lps25h"), thermometerRandom: random.split("lps25h.thermometer"))
        bus.attach(hts221, at: HTS221Register.address)
        bus.attach(lps25h, at: LPS25HRegister.address)
    }
}

/// A kit whose motion is analytic in time: gravity plus a sinusoidal shake along z (the
/// drum axis of a washing machine on a level floor), so the expected RMS is exact.
final class ShakingEnvironment: SensorEnvironmentSource {
    let start: Instant
    var frequency: Double
    var amplitude: Double
    var angularRate: Vector3
    var magneticField: Vector3
    /// A drift in g per second added on x, so tests can tell which instant a sample is from.
    var rampPerSecond = 0.0
    /// How often a chip asked for conditions (each conversion asks once).
    private(set) var queries = 0

    init(start: Instant, frequency: Double = 0, amplitude: Double = 0,
         angularRate: Vector3 = .zero, magneticField: Vector3 = SensorEnvironment.earthField) {
        self.start = start
        self.frequency = frequency
        self.amplitude = amplitude
        self.angularRate = angularRate
        self.magneticField = magneticField
    }

    func acceleration(at instant: Instant) -> Vector3 {
        let t = (instant - start).secondsValue
        let shake = amplitude * sin(2 * Double.pi * frequency * t)
        return Vector3.gravity + Vector3(x: rampPerSecond * t, y: 0, z: shake)
    }

    func environment(at instant: Instant) -> SensorEnvironment {
        queries += 1
        return SensorEnvironment(temperature: 21, humidity: 40, pressure: 1013,
                                 acceleration: acceleration(at: instant),
                                 angularRate: angularRate, magneticField: magneticField)
    }
}

/// A simulated bus with both LSM9DS1 dies on it, one unit drawn from `seed`.
struct IMUBench {
    let clock = ManualClock()
    let bus: SimI2CBus
    let environment: ShakingEnvironment
    let accelGyro: LSM9DS1AccelGyroModel
    let magnetometer: LSM9DS1MagnetometerModel

    init(seed: UInt64 = 1, frequency: Double = 0, amplitude: Double = 0,
         angularRate: Vector3 = .zero, magneticField: Vector3 = SensorEnvironment.earthField) {
        var random = SeededRandom(seed: seed)
        environment = ShakingEnvironment(start: clock.now, frequency: frequency, amplitude: amplitude,
                                         angularRate: angularRate, magneticField: magneticField)
        bus = SimI2CBus(clock: clock, random: random.split("bus"))
        accelGyro = LSM9DS1AccelGyroModel(source: environment, random: random.split("lsm9ds1.ag"))
        magnetometer = LSM9DS1MagnetometerModel(source: environment, random: random.split("lsm9ds1.m"))
        bus.attach(accelGyro, at: LSM9DS1AccelGyroRegister.address)
        bus.attach(magnetometer, at: LSM9DS1MagnetometerRegister.address)
    }
}

/// An ATtiny88 on a simulated bus with its interrupt wired to a simulated GPIO chip, and
/// every edge the chip delivers recorded in order.
final class JoystickBench {
    let clock = ManualClock()
    let bus: SimI2CBus
    let gpio = SimGPIOChip()
    let attiny: ATtiny88Model
    let driver: JoystickDriver
    private(set) var edges: [(edge: GPIOEdge, time: Instant)] = []

    init() {
        bus = SimI2CBus(clock: clock, random: SeededRandom(seed: 1))
        attiny = ATtiny88Model(history: nil, gpio: gpio)
        bus.attach(attiny, at: ATtiny88Register.address)
        driver = JoystickDriver(bus: bus)
        gpio.onEdge { [unowned self] edge, time in self.edges.append((edge, time)) }
    }

    var risingEdges: [Instant] { edges.filter { $0.edge.rising && $0.edge.line == 23 }.map(\.time) }
}
