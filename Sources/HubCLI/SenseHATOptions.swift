import ArgumentParser
import Foundation
import HubCore
import HubDrivers
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

    /// The adapter number N of `--i2c` (/dev/i2c-N): the digits it ends with.
    public var adapter: Int {
        Int(String(i2c.reversed().prefix { $0.isNumber }.reversed())) ?? 1
    }

    /// What the kernel has bound around the HAT and the path the hub takes for each part
    /// (docs/bench.md); a polled sensor a kernel driver owns is a validation error naming
    /// the fix. The plan's summary goes to standard error.
    public func kernelPlan(polling kind: ApplianceKind, gpioChip: String?) throws -> SenseHATAccessPlan {
        let state = SenseHATKernelProbe.observe(adapter: adapter, gpioChip: gpioChip)
        let polled = MonitoringKit.for(kind).chips.flatMap(\.addresses)
        let plan = SenseHATAccessPlan.plan(for: state, polled: polled, adapter: adapter)
        guard plan.refusals.isEmpty else {
            throw ValidationError("the kernel owns Sense HAT sensors the hub polls:\n  " + plan.refusals.joined(separator: "\n  "))
        }
        FileHandle.standardError.write(Data("hub: \(plan.summary)\n".utf8))
        return plan
    }

    /// The LED matrix the plan says: the kernel's framebuffer, or 0x46 on `bus`.
    public func display(_ plan: SenseHATAccessPlan, bus: any I2CBus) throws -> any LEDMatrix {
        switch plan.display {
        case .i2c: return LEDMatrixDriver(bus: bus)
        case .framebuffer(let path):
            do { return FramebufferLEDMatrix(device: try LinuxFramebufferDevice(path: path)) } catch {
                throw ValidationError("the Sense HAT framebuffer: \(error)")
            }
        }
    }

    /// The one appliance the Sense HAT watches: a hub has one HAT.
    public static func device(of config: HubConfig) throws -> HubConfig.Device {
        guard config.devices.count(where: { $0.source == .senseHAT }) == 1, let device = config.devices.first(where: { $0.source == .senseHAT }) else {
            throw ValidationError("the sensehat backend monitors one appliance (one Sense HAT); give one --device (or one entry under devices: in --config); kits over MQTT come with --kit")
        }
        return device
    }
}
