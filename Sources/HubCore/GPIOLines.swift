/// The GPIO port: input lines with edge events, and output lines.
///
/// The Sense HAT joystick raises GPIO23 when its keys change; an appliance shut-off relay
/// hangs on an output line. libgpiod (v1 API) implements it on a Pi, `SimGPIOChip` in the
/// simulator. Edges are not pulled by the hub: shells deliver them as events, because the
/// live shell waits on them together with its timers and the simulator schedules them.
public protocol GPIOLines: AnyObject {
    /// The current level of a line (true = high).
    func read(line: Int) throws(GPIOError) -> Bool
    /// Drives an output line.
    func write(line: Int, value: Bool) throws(GPIOError)
}

/// A GPIO failure, naming the chip or line.
public enum GPIOError: Error, Equatable, Sendable, CustomStringConvertible {
    case chipUnavailable(path: String, errno: Int32)
    case lineUnavailable(line: Int, detail: String)
    case io(line: Int, errno: Int32)

    public var description: String {
        switch self {
        case .chipUnavailable(let path, let errno): "GPIO chip \(path) unavailable (errno \(errno))"
        case .lineUnavailable(let line, let detail): "GPIO line \(line) unavailable: \(detail)"
        case .io(let line, let errno): "GPIO line \(line): I/O error (errno \(errno))"
        }
    }
}

/// An edge seen on an input line.
public struct GPIOEdge: Equatable, Sendable {
    public var line: Int
    public var rising: Bool

    public init(line: Int, rising: Bool) {
        self.line = line
        self.rising = rising
    }
}
