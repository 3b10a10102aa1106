import HubCore
import HubDrivers

// Fault model of the ATtiny88 model: none of its own yet; bus-level faults come from
// `SimI2CBus`. Behaviour (rpi-sense firmware): a write sets the register pointer from its
// first byte and stores the rest at successive addresses; reads continue from the
// pointer; the pointer survives a STOP; WAI (0xF0) reads 0x73. Every write transaction
// that touches the frame (0x00–0xBF) is recorded as a displayed frame with its instant.

/// Register-level model of the Sense HAT's ATtiny88 (LED matrix and joystick) at 0x46.
public final class ATtiny88Model: SimI2CDevice {
    public private(set) var registers = [UInt8](repeating: 0, count: 256)
    private var pointer = 0
    /// Frames as the matrix showed them, oldest first.
    public private(set) var frames: [(time: Instant, frame: LEDFrame)] = []
    private let history: (any HistorySink)?

    public init(history: (any HistorySink)?) {
        self.history = history
        registers[Int(ATtiny88Register.whoAmI)] = ATtiny88Register.whoAmIValue
        registers[Int(ATtiny88Register.firmwareVersion)] = 0x02
    }

    public var currentFrame: LEDFrame {
        LEDFrame(registerBytes: Array(registers[0..<ATtiny88Register.frameCount]))
    }

    public func write(_ bytes: [UInt8], now: Instant) {
        guard let first = bytes.first else { return }
        pointer = Int(first)
        var touchedFrame = false
        for value in bytes.dropFirst() {
            if pointer < ATtiny88Register.frameCount {
                registers[pointer] = value & 0x1F
                touchedFrame = true
            }
            pointer = (pointer + 1) & 0xFF
        }
        if touchedFrame {
            let frame = currentFrame
            frames.append((now, frame))
            history?.record(.ledFrame(colour: frame.uniformStatusName ?? "mixed"), at: now)
        }
    }

    public func read(count: Int, now: Instant) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count {
            out.append(registers[pointer])
            pointer = (pointer + 1) & 0xFF
        }
        return out
    }
}
