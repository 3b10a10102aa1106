import HubCore

/// Derives a fridge's `duty_cycles` channel: the share of the last hour its compressor ran, in %.
///
/// A Sense HAT cannot see the compressor's relay, but it feels the compressor: a running
/// compressor shakes the cabinet at mains frequency (about 16–21 mg RMS on the kit), a
/// stopped one leaves only the accelerometer's noise (1.5–1.9 mg over its three axes). A reading whose
/// vibration exceeds `runningThreshold` counts as running. The duty is the running share
/// of the readings in the trailing `window`, reported only once the whole window has been
/// seen: a share of the first minutes is not "the last hour" (a compressor that happens
/// to rest through them would read 0 %), so until then the channel is left out of the
/// reading rather than made up. A reading whose vibration is missing (the LSM9DS1 gave
/// nothing that poll) adds nothing, so the window counts polls with a measurement.
/// Refrigeration guidance puts a closed fridge near 30 %, one opened every half hour
/// near 60 % (reference/appliances.md).
public struct DutyCycleEstimator: Sendable {
    /// Between the accelerometer's noise floor and the weakest compressor's vibration.
    public static let runningThreshold = 0.004
    public let capacity: Int
    private var samples: [Bool] = []
    private var next = 0
    private var running = 0

    public init(window: Duration, pollInterval: Duration) {
        capacity = max(1, Int(window.nanoseconds / pollInterval.nanoseconds))
        samples.reserveCapacity(capacity)
    }

    /// Adds one reading's vibration; returns the duty in % once the whole window is seen.
    public mutating func add(vibration: Double) -> Double? {
        let isRunning = vibration > Self.runningThreshold
        if samples.count < capacity {
            samples.append(isRunning)
        } else {
            if samples[next] { running -= 1 }
            samples[next] = isRunning
            next = (next + 1) % capacity
        }
        if isRunning { running += 1 }
        guard samples.count == capacity else { return nil }
        return Double(running) * 100 / Double(samples.count)
    }
}
