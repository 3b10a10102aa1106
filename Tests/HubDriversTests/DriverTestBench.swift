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
        lps25h = LPS25HModel(source: environment, random: random.split("lps25h"))
        bus.attach(hts221, at: HTS221Register.address)
        bus.attach(lps25h, at: LPS25HRegister.address)
    }
}
