import HubCore

/// A statistic of one channel over a window of readings.
///
/// The definitions are the contract between the Python training side and the hub, and are
/// spelled out in docs/models.md: population standard deviation; slope by least squares
/// against time in hours, with readings assumed one poll interval apart; `last` the newest;
/// `crossings` counts i with x[i−1] < mean ≤ x[i], the mean summed in order (so both sides
/// compare against the same number); `steps_p90` is the nearest-rank 90th percentile of
/// |x[i] − x[i−1]| (a sample of the window, so no interpolation to disagree on).
public enum FeatureStat: String, CaseIterable, Sendable {
    case mean
    case std
    case min
    case max
    case slope
    case last
    /// Upward crossings of the window's mean: how many times the channel rose through its
    /// own average — burner starts, compressor starts. A furnace short-cycling on its high
    /// limit crosses many times, a furnace that no longer lights not at all.
    case crossings
    /// How hard the channel jumps between neighbouring readings: the 90th percentile
    /// (nearest rank) of the absolute steps |x[i] − x[i−1]|. A washer redistributing an
    /// out-of-balance drum shakes in minute-long bursts between quiet tumbling, so its
    /// vibration jumps up and down every few readings; a spin is one long steady plateau and
    /// an idle machine barely moves, so neither jumps often. Its level (mean, max,
    /// percentiles) lies between tumbling and spin, where an autoencoder interpolates; its
    /// steps lie beyond every normal window's.
    case stepsP90 = "steps_p90"
}

/// One model input: a statistic of a channel.
public struct FeatureSpec: Equatable, Sendable {
    public var channel: Channel
    public var stat: FeatureStat

    public init(channel: Channel, stat: FeatureStat) {
        self.channel = channel
        self.stat = stat
    }
}

/// Computes window features from per-channel sample arrays (oldest first).
public enum WindowFeatures {
    /// The value of `stat` over `values` (count ≥ 2), sampled `stepHours` apart.
    public static func compute(_ stat: FeatureStat, _ values: ArraySlice<Double>, stepHours: Double) -> Double {
        precondition(values.count >= 2, "a window holds at least two readings")
        let n = Double(values.count)
        switch stat {
        case .mean:
            return values.reduce(0, +) / n
        case .std:
            let mean = values.reduce(0, +) / n
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            return (squares / n).squareRoot()
        case .min:
            return values.min()!
        case .max:
            return values.max()!
        case .slope:
            // x_i = i·step; x̄ = (n−1)·step/2; Σ(x_i − x̄)² = step²·n(n²−1)/12.
            let mean = values.reduce(0, +) / n
            let centre = (n - 1) / 2
            var covariance = 0.0
            for (i, value) in values.enumerated() { covariance += (Double(i) - centre) * (value - mean) }
            let spread = n * (n * n - 1) / 12
            return covariance / (spread * stepHours)
        case .last:
            return values.last!
        case .crossings:
            var sum = 0.0
            for value in values { sum += value }
            let mean = sum / n
            var count = 0
            var previous = values.first!
            for value in values.dropFirst() {
                if previous < mean && mean <= value { count += 1 }
                previous = value
            }
            return Double(count)
        case .stepsP90:
            var steps = [Double]()
            steps.reserveCapacity(values.count - 1)
            var previous = values.first!
            for value in values.dropFirst() {
                steps.append(abs(value - previous))
                previous = value
            }
            return orderStatistic(&steps, nearestRankIndex(percent: 90, count: steps.count))
        }
    }

    /// The value at `rank` of `values` sorted ascending — what `values.sorted()[rank]` is —
    /// found by selection (Hoare's quickselect, median-of-three pivots) rather than a whole
    /// sort: a washer's model takes a percentile of every window it scores. `values` is
    /// left partly ordered. A NaN has no place in an order, so values holding one are
    /// sorted, exactly as before.
    static func orderStatistic(_ values: inout [Double], _ rank: Int) -> Double {
        precondition(values.indices.contains(rank), "a rank inside the values")
        if values.contains(where: \.isNaN) {
            values.sort()
            return values[rank]
        }
        return values.withUnsafeMutableBufferPointer { v -> Double in
            var low = 0
            var high = v.count - 1
            while low < high {
                let a = v[low], b = v[low + (high - low) / 2], c = v[high]
                let pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b))
                var i = low
                var j = high
                while i <= j {
                    while v[i] < pivot { i += 1 }
                    while v[j] > pivot { j -= 1 }
                    if i <= j {
                        v.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                // Now v[low...j] ≤ pivot ≤ v[i...high], and anything between equals the pivot.
                if rank <= j {
                    high = j
                } else if rank >= i {
                    low = i
                } else {
                    return pivot
                }
            }
            return v[rank]
        }
    }

    /// The index into `count` sorted values of their `percent`-th percentile by nearest rank:
    /// rank ⌈percent · count / 100⌉, counted from 1. Integer arithmetic, so train.py's
    /// `(percent * count + 99) // 100 - 1` picks the same sample.
    static func nearestRankIndex(percent: Int, count: Int) -> Int {
        precondition(count >= 1 && (1...100).contains(percent), "a percentile of at least one value")
        return (percent * count + 99) / 100 - 1
    }
}
