import CGPIOD
import Foundation
import HubCore

/// The production `GPIOLines`: a GPIO character device through libgpiod's v1 API.
///
/// Debian 12 ships libgpiod 1.6, whose v1 calls differ from the 2.x API of later
/// releases; this backend is written against 1.6 only. It requests the Sense HAT joystick's
/// interrupt line (GPIO23) for rising edges, so the live shell can wait for a key change
/// together with its timers via `waitForEdge`, and optionally one output line (the
/// appliance shut-off relay). Lines are requested as consumer "hubrig", so `gpioinfo`
/// shows who holds them.
///
/// Not thread-safe: one owner uses it from one thread, like every port.
public final class LinuxGPIO: GPIOLines {
    /// The chip's device path (`/dev/gpiochip0`).
    public let chipPath: String
    /// The line requested for edge events, if any.
    public let edgeLine: Int?
    /// The line requested as an output, if any.
    public let outputLine: Int?

    /// nil once closed, so closing twice (a failed init, then deinit) is harmless.
    private var chip: OpaquePointer?
    private var edgeHandle: OpaquePointer?
    private var outputHandle: OpaquePointer?
    private static let consumer = "hubrig"

    /// Opens `chipPath` and requests the lines.
    ///
    /// - Parameters:
    ///   - edgeLine: an input line requested for rising-edge events (23: joystick interrupt), or nil.
    ///   - outputLine: a line requested as an output driven to `outputInitial`, or nil.
    public init(chipPath: String = "/dev/gpiochip0", edgeLine: Int? = 23, outputLine: Int? = nil,
                outputInitial: Bool = false) throws(GPIOError) {
        self.chipPath = chipPath
        self.edgeLine = edgeLine
        self.outputLine = outputLine
        if let edgeLine, edgeLine == outputLine {
            throw .lineUnavailable(line: edgeLine, detail: "\(chipPath): asked for as both edge input and output")
        }
        guard let chip = gpiod_chip_open(chipPath) else {
            throw .chipUnavailable(path: chipPath, errno: errno)
        }
        self.chip = chip
        do throws(GPIOError) {
            if let edgeLine {
                let line = try Self.line(chip, chipPath, edgeLine)
                guard gpiod_line_request_rising_edge_events(line, Self.consumer) == 0 else {
                    throw .lineUnavailable(line: edgeLine, detail: Self.requestFailure(chipPath, "edge events", errno))
                }
                edgeHandle = line
            }
            if let outputLine {
                let line = try Self.line(chip, chipPath, outputLine)
                guard gpiod_line_request_output(line, Self.consumer, outputInitial ? 1 : 0) == 0 else {
                    throw .lineUnavailable(line: outputLine, detail: Self.requestFailure(chipPath, "output", errno))
                }
                outputHandle = line
            }
        } catch {
            releaseAll()
            throw error
        }
    }

    deinit { releaseAll() }

    private func releaseAll() {
        if let edgeHandle { gpiod_line_release(edgeHandle) }
        if let outputHandle { gpiod_line_release(outputHandle) }
        edgeHandle = nil
        outputHandle = nil
        if let chip { gpiod_chip_close(chip) }
        chip = nil
    }

    private static func line(_ chip: OpaquePointer, _ chipPath: String, _ offset: Int) throws(GPIOError) -> OpaquePointer {
        guard let offsetValue = UInt32(exactly: offset) else {
            throw .lineUnavailable(line: offset, detail: "\(chipPath): negative line offset")
        }
        guard let line = gpiod_chip_get_line(chip, offsetValue) else {
            let code = errno
            throw .lineUnavailable(line: offset, detail: "\(chipPath): \(errnoText(code)) (errno \(code))")
        }
        return line
    }

    private static func requestFailure(_ chipPath: String, _ what: String, _ code: Int32) -> String {
        "\(chipPath): request as \(what) failed: \(errnoText(code)) (errno \(code))"
    }

    /// The handle of a line this object requested; reading works on both kinds.
    private func handle(for line: Int) throws(GPIOError) -> OpaquePointer {
        if line == edgeLine, let edgeHandle { return edgeHandle }
        if line == outputLine, let outputHandle { return outputHandle }
        throw .lineUnavailable(line: line, detail: "\(chipPath): line not requested by this hub")
    }

    public func read(line: Int) throws(GPIOError) -> Bool {
        let value = gpiod_line_get_value(try handle(for: line))
        guard value >= 0 else { throw .io(line: line, errno: errno) }
        return value == 1
    }

    public func write(line: Int, value: Bool) throws(GPIOError) {
        guard line == outputLine, let outputHandle else {
            throw .lineUnavailable(line: line, detail: "\(chipPath): line not requested as an output")
        }
        guard gpiod_line_set_value(outputHandle, value ? 1 : 0) == 0 else { throw .io(line: line, errno: errno) }
    }

    /// Waits up to `timeout` for an edge on the event line; nil when the time runs out.
    ///
    /// The live shell calls it with the time left until its next timer, so it never
    /// sleeps past a deadline. Without an event line it returns nil at once.
    public func waitForEdge(timeout: Duration) throws(GPIOError) -> GPIOEdge? {
        guard let edgeLine, let edgeHandle else { return nil }
        let parts = max(timeout, .zero).components
        var limit = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        let waited = gpiod_line_event_wait(edgeHandle, &limit)
        if waited == 0 { return nil }
        guard waited > 0 else { throw .io(line: edgeLine, errno: errno) }
        var event = gpiod_line_event()
        guard gpiod_line_event_read(edgeHandle, &event) == 0 else { throw .io(line: edgeLine, errno: errno) }
        return GPIOEdge(line: edgeLine, rising: event.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE))
    }
}
