import HubCore
import HubDrivers

/// A Sense HAT sensor chip a monitoring kit can poll.
public enum SenseHATChip: String, CaseIterable, Sendable {
    case hts221
    case lps25h
    case lsm9ds1

    /// The I²C addresses a poll of this chip talks to (the LSM9DS1 is two dies).
    public var addresses: [UInt8] {
        switch self {
        case .hts221: [HTS221Register.address]
        case .lps25h: [LPS25HRegister.address]
        case .lsm9ds1: [LSM9DS1AccelGyroRegister.address, LSM9DS1MagnetometerRegister.address]
        }
    }
}

/// Which chips a kit polls for an appliance kind, and the channels its readings carry.
///
/// Every kit is a whole Sense HAT, but polling a chip whose channel the appliance does not
/// need only costs bus time: a furnace has no vibration worth watching, a washer's
/// pressure says nothing about the washer. Readings carry the book's keys.
public struct MonitoringKit: Sendable {
    public let kind: ApplianceKind
    public let chips: [SenseHATChip]
    public let channels: [Channel]

    public static func `for`(_ kind: ApplianceKind) -> MonitoringKit {
        switch kind {
        case .furnace:
            MonitoringKit(kind: kind, chips: [.hts221, .lps25h], channels: [.temperature, .humidity, .pressure])
        case .washer:
            MonitoringKit(kind: kind, chips: [.hts221, .lsm9ds1], channels: [.temperature, .humidity, .vibration])
        case .fridge:
            MonitoringKit(kind: kind, chips: [.hts221, .lsm9ds1], channels: [.temperature, .humidity, .vibration, .dutyCycles])
        }
    }

    /// The production drivers for this kit's chips on `bus`, in `chips` order.
    /// `verifyReads: false` reads each sample once (only for measuring what verification costs).
    public func drivers(on bus: any I2CBus, verifyReads: Bool = true) -> [any SensorDriver] {
        chips.map { chip -> any SensorDriver in
            switch chip {
            case .hts221: HTS221Driver(bus: bus, verifyReads: verifyReads)
            case .lps25h: LPS25HDriver(bus: bus, verifyReads: verifyReads)
            case .lsm9ds1: LSM9DS1Driver(bus: bus)
            }
        }
    }
}
