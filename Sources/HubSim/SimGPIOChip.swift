import HubCore

// Fault model of the simulated GPIO chip (faults on one line at a time, `gpio.<line>.*`):
//
// - `stuck(line, level)`: the line reads `level` whatever drives it, like a pin shorted to
//   a rail or a broken trace with a pull. Changes made by its driver are swallowed: no
//   edges while stuck. Becoming stuck and being released are themselves level changes an
//   edge detector sees, so they deliver an edge when the observed level changes.
// - `bounce(line, count)`: every edge on the line is delivered `count` times in a burst at
//   the same instant — contact bounce as a rising-edge detector sees it (the hub asks for
//   rising edges on GPIO23, so the falling half of each bounce is invisible to it). The
//   level itself settles at once. `count` 1 is a clean line.
//
// Injecting a fault replaces the line's previous one; `clearFault` restores a clean line.
// Behaviour without faults: a line's level is what its driver set (a simulated part via
// `drive`, or the hub via `write`); every change of an input line's level is one edge,
// delivered synchronously to the edge handler in the order the changes happened.

/// A fault the simulated GPIO chip injects on one line.
///
/// Named after the scenario faults `gpio.<line>.stuck|bounce`, so the scenario layer maps
/// onto it one to one; a value rather than flags so a line carries exactly one fault.
public enum SimGPIOFault: Equatable, Sendable {
    case stuck(line: Int, level: Bool)
    case bounce(line: Int, count: Int)

    public var line: Int {
        switch self {
        case .stuck(let line, _), .bounce(let line, _): line
        }
    }
}

/// A GPIO chip inside the simulator, implementing the `GPIOLines` port.
///
/// Simulated parts (the ATtiny88's interrupt output) drive its lines and the hub reads and
/// writes them through the same port it uses on a Pi. Edges go to one registered handler
/// — the simulator's shell, which turns them into events — instead of being polled,
/// because that is how the live shell gets them from libgpiod. Lines live in an array by
/// number; nothing here depends on hash order.
public final class SimGPIOChip: GPIOLines, FaultApplying {
    /// Lines on the chip (the BCM2835's gpiochip0 has 54).
    public let lineCount: Int
    private var driven: [Bool]
    private var faults: [SimGPIOFault?]
    private var edgeHandler: ((GPIOEdge, Instant) -> Void)?
    /// Edges waiting for delivery; a handler that drives a line re-entrantly queues behind.
    private var pending: [(edge: GPIOEdge, time: Instant)] = []
    private var delivering = false

    public init(lineCount: Int = 54) {
        precondition(lineCount > 0, "a chip has lines")
        self.lineCount = lineCount
        driven = Array(repeating: false, count: lineCount)
        faults = Array(repeating: nil, count: lineCount)
    }

    /// Registers the one receiver of input edges (replacing any earlier one).
    public func onEdge(_ handler: @escaping (GPIOEdge, Instant) -> Void) {
        edgeHandler = handler
    }

    // MARK: GPIOLines

    public func read(line: Int) throws(GPIOError) -> Bool {
        guard (0..<lineCount).contains(line) else {
            throw .lineUnavailable(line: line, detail: "the simulated chip has \(lineCount) lines")
        }
        return observed(line)
    }

    /// The hub driving an output line; no edge handler is involved (the hub knows).
    public func write(line: Int, value: Bool) throws(GPIOError) {
        guard (0..<lineCount).contains(line) else {
            throw .lineUnavailable(line: line, detail: "the simulated chip has \(lineCount) lines")
        }
        driven[line] = value
    }

    // MARK: the simulated world's side

    /// A simulated part drives an input line to `high` at `now`.
    public func drive(line: Int, high: Bool, now: Instant) {
        precondition((0..<lineCount).contains(line), "no GPIO line \(line)")
        let before = observed(line)
        driven[line] = high
        edgeIfChanged(line: line, from: before, now: now)
    }

    /// The line faults (`gpio.<line>.stuck|bounce`).
    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .gpio(let lineFault) = fault else { preconditionFailure("\(fault.name) routed to the GPIO chip") }
        if active { inject(lineFault, now: now) } else { clearFault(line: lineFault.line, now: now) }
    }

    public func inject(_ fault: SimGPIOFault, now: Instant) {
        let line = fault.line
        precondition((0..<lineCount).contains(line), "no GPIO line \(line)")
        if case .bounce(_, let count) = fault { precondition(count >= 1, "a bounce delivers each edge at least once") }
        let before = observed(line)
        faults[line] = fault
        edgeIfChanged(line: line, from: before, now: now)
    }

    public func clearFault(line: Int, now: Instant) {
        precondition((0..<lineCount).contains(line), "no GPIO line \(line)")
        let before = observed(line)
        faults[line] = nil
        edgeIfChanged(line: line, from: before, now: now)
    }

    public func fault(on line: Int) -> SimGPIOFault? {
        precondition((0..<lineCount).contains(line), "no GPIO line \(line)")
        return faults[line]
    }

    // MARK: internals

    private func observed(_ line: Int) -> Bool {
        if case .stuck(_, let level) = faults[line] { return level }
        return driven[line]
    }

    private func edgeIfChanged(line: Int, from before: Bool, now: Instant) {
        let after = observed(line)
        guard after != before else { return }
        var copies = 1
        if case .bounce(_, let count) = faults[line] { copies = count }
        for _ in 0..<copies { pending.append((GPIOEdge(line: line, rising: after), now)) }
        deliverPending()
    }

    private func deliverPending() {
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        var next = 0
        while next < pending.count {
            let (edge, time) = pending[next]
            next += 1
            edgeHandler?(edge, time)
        }
        pending.removeAll()
    }
}

extension SimGPIOChip {
    /// The line faults this chip applies (`gpio.<line>.stuck|bounce`).
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "gpio", name: "stuck",
                  parameters: [FaultParameter("level", .choice(["low", "high"]), default: "low", summary: "the level the line keeps")],
                  summary: "the line stays put; edges are lost", port: "SimGPIOChip") {
            .gpio(.stuck(line: $0.line, level: $1.text("level") == "high"))
        },
        FaultKind(layer: "gpio", name: "bounce",
                  parameters: [FaultParameter("count", .count(1...100), default: "5", summary: "deliveries of each edge")],
                  summary: "every edge arrives `count` times", port: "SimGPIOChip") {
            .gpio(.bounce(line: $0.line, count: $1.count("count")))
        },
    ]
}
