import HubCore

/// Interim detector: the largest |z| of any channel against its own rolling window.
///
/// It exists so the pipeline runs end to end before the model-package core arrives; it
/// catches sudden departures from the last hour and nothing subtler. Each channel keeps a
/// ring buffer of the last `windowCount` values; sums are taken relative to the first
/// value seen (so a 1000 hPa pressure does not swamp a 0.01 hPa variance) and recomputed
/// from the buffer at every wrap to stop rounding drift. A standard-deviation floor per
/// channel (about the sensor's accuracy) keeps a perfectly steady channel from turning
/// noise into huge scores. No score until the window is full: a furnace needs a whole
/// burner cycle in view before "unusual" means anything.
public struct RollingZScoreDetector: AnomalyDetector {
    public let model = "zscore@0.1.0"
    public let threshold: Double
    public let windowCount: Int
    private var channels: [ChannelWindow]

    public init(windowCount: Int, threshold: Double = 4.0) {
        precondition(windowCount >= 2, "a z-score needs at least two values")
        self.windowCount = windowCount
        self.threshold = threshold
        channels = Channel.allCases.map { ChannelWindow(capacity: windowCount, stdFloor: Self.stdFloor($0)) }
    }

    /// About each sensor's accuracy (HTS221 ±0.5 °C / ±3.5 %RH, LPS25H ±0.2 hPa), scaled down.
    static func stdFloor(_ channel: Channel) -> Double {
        switch channel {
        case .temperature, .referenceTemperature: 0.1
        case .humidity: 0.5
        case .pressure: 0.05
        case .vibration: 0.005
        case .dutyCycles: 0.5
        }
    }

    public mutating func observe(_ reading: Reading) -> Double? {
        var score: Double?
        for (channel, value) in reading.values {
            if let z = channels[channel.rawValue].push(value) {
                score = max(score ?? 0, z)
            }
        }
        return score
    }
}

/// One channel's ring buffer with shifted running sums.
struct ChannelWindow {
    let capacity: Int
    let stdFloor: Double
    private var values: [Double] = []
    private var next = 0
    private var shift: Double?
    private var sum = 0.0
    private var sumSquares = 0.0

    init(capacity: Int, stdFloor: Double) {
        self.capacity = capacity
        self.stdFloor = stdFloor
        values.reserveCapacity(capacity)
    }

    /// |z| of `value` against the window before it (nil until full), then adds it.
    mutating func push(_ value: Double) -> Double? {
        let origin = shift ?? value
        shift = origin
        let x = value - origin
        var z: Double?
        if values.count == capacity {
            let n = Double(capacity)
            let mean = sum / n
            let variance = max(0, sumSquares / n - mean * mean)
            let std = max(variance.squareRoot(), stdFloor)
            z = abs(x - mean) / std
            let old = values[next]
            values[next] = x
            sum += x - old
            sumSquares += x * x - old * old
            next += 1
            if next == capacity {
                next = 0
                recompute()
            }
        } else {
            values.append(x)
            sum += x
            sumSquares += x * x
        }
        return z
    }

    private mutating func recompute() {
        sum = 0
        sumSquares = 0
        for x in values {
            sum += x
            sumSquares += x * x
        }
    }
}
