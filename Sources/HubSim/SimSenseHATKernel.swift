import HubCore
import HubDrivers

// Fault model of the simulated kernel drivers: none of their own. They are the twins of
// what a Pi with the rpi-sense overlay runs (rpisense-fb and sensehat-joystick), and like
// those they reach the ATtiny88 only over the world's I²C bus, so the bus's faults on 0x46
// and the GPIO line's faults reach them as they would on a Pi:
// - Framebuffer: the hub's memory and gamma table; each write or gamma change goes out at
//   once as rpisense-fb's 193-byte write (`RPiSenseFramebuffer.frameTransfer`) — the
//   driver's 10 ms deferred-I/O delay is not modelled — and a failed transfer fails the
//   hub's write, as it surfaces in the kernel log on a Pi.
// - Joystick: on each rising edge of GPIO23 (the ATtiny88's interrupt, bounces included)
//   KEYS is read over I²C, which clears the interrupt, and the keys read are what the
//   event device reports; a failed read leaves the keys as they were.
// - A power loss restarts the kernel: the framebuffer's memory is zeroed, its gamma table
//   back to the default, no key held.

/// The kernel drivers the rpi-sense overlay binds, inside the simulated world
/// (`hub.sensehat_kernel: bound`), so a scenario can present the hub the configuration
/// of a Pi where the overlay is loaded.
public final class SimSenseHATKernel {
    public let framebuffer: SimKernelFramebuffer
    public let joystick: SimKernelJoystick
    private let bus: SimI2CBus

    public init(bus: SimI2CBus) {
        self.bus = bus
        framebuffer = SimKernelFramebuffer(bus: bus)
        joystick = SimKernelJoystick()
    }

    /// The Pi lost power: the drivers start again from nothing.
    func powerLost() {
        framebuffer.reset()
        joystick.keys = []
    }

    /// The world's GPIO edge: the joystick driver's interrupt handler.
    public func edge(_ edge: GPIOEdge, now: Instant) {
        guard edge.line == SimWorld.joystickLine, edge.rising else { return }
        if let keys = try? bus.readRegister(ATtiny88Register.address, ATtiny88Register.keys) {
            joystick.keys = JoystickKeys(rawValue: keys).intersection(.all)
        }
    }
}

/// The twin of /dev/fbN: rpisense-fb's memory and gamma table over the simulated bus.
public final class SimKernelFramebuffer: SenseHATFramebufferDevice {
    private let bus: SimI2CBus
    public private(set) var memory = [UInt8](repeating: 0, count: RPiSenseFramebuffer.memoryBytes)
    public private(set) var gamma = RPiSenseFramebuffer.gammaDefault

    init(bus: SimI2CBus) {
        self.bus = bus
    }

    public func writeMemory(_ bytes: [UInt8]) throws(DriverError) {
        precondition(bytes.count == RPiSenseFramebuffer.memoryBytes, "the framebuffer holds 128 bytes")
        memory = bytes
        try refresh()
    }

    public func setGamma(_ table: [UInt8]) throws(DriverError) {
        precondition(table.count == 32, "a gamma table has 32 entries")
        gamma = table
        try refresh()
    }

    func reset() {
        memory = [UInt8](repeating: 0, count: RPiSenseFramebuffer.memoryBytes)
        gamma = RPiSenseFramebuffer.gammaDefault
    }

    private func refresh() throws(DriverError) {
        do {
            _ = try bus.transfer(address: ATtiny88Register.address, write: RPiSenseFramebuffer.frameTransfer(memory: memory, gamma: gamma),
                                 readCount: 0)
        } catch {
            throw .bus(chip: "RPi-Sense FB", error)
        }
    }
}

/// The twin of the joystick's event device: the keys the driver last read.
public final class SimKernelJoystick: JoystickReader {
    public internal(set) var keys: JoystickKeys = []

    public func readKeys() throws(DriverError) -> JoystickKeys { keys }
}
