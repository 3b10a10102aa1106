import ArgumentParser
import HubKernel
import HubLive

/// `--i2c`: the Sense HAT's I²C device, for every command that opens the real HAT (`hub run`,
/// and `hub component` for the components that use it), with the one-HAT rule stated once.
public struct SenseHATOptions: ParsableArguments {
    @Option(help: "I²C device of the Sense HAT.")
    public var i2c = "/dev/i2c-1"

    public init() {}

    /// The I²C bus, opened.
    public func bus() throws -> LinuxI2CBus {
        do { return try LinuxI2CBus(path: i2c) } catch { throw ValidationError("--i2c: \(error)") }
    }

    /// The one appliance the Sense HAT watches: a hub has one HAT.
    public static func device(of config: HubConfig) throws -> HubConfig.Device {
        guard config.devices.count(where: { $0.source == .senseHAT }) == 1, let device = config.devices.first(where: { $0.source == .senseHAT }) else {
            throw ValidationError("the sensehat backend monitors one appliance (one Sense HAT); give one --device (or one entry under devices: in --config); kits over MQTT come with --kit")
        }
        return device
    }
}
