import Foundation
import HubCore

// Indoor barometric pressure and outdoor temperature for the simulated house.
//
// Pressure (reference/appliances.md, "Indoor barometric pressure"): a site level drawn
// within ±8 hPa of 1013 hPa; weather as a random walk whose rate is an Ornstein–Uhlenbeck
// process (σ ≈ 0.25 hPa/h, correlation time 6 h), which keeps most 3-hour changes under the
// "steady" 1 hPa and rarely reaches "falling" 1–3 hPa; a semidiurnal tide of 0.6 hPa
// amplitude peaking near 10:00 and 22:00. The excursion from the site level is pulled
// back softly beyond ±15 hPa so a long run cannot wander off.
// Outdoor temperature: a winter day, mean drawn in −6…+2 °C, ±4 °C diurnal swing with the
// minimum at 05:00 UTC (the simulated house keeps UTC).
//
// Fixed one-minute steps from the start of the run: the state at an instant never
// depends on who asks, or how often.

/// The weather around and inside the simulated house, shared by every appliance in it.
public final class HouseWeather {
    private let start: Instant
    private var random: SeededRandom
    private let siteLevel: Double
    private let outdoorMean: Double
    private var excursion = 0.0
    private var rate = 0.0
    private var stepIndex: Int64 = 0
    static let step: Duration = .seconds(60)
    static let rateSigmaPerHour = 0.25
    static let rateCorrelationHours = 6.0

    public init(start: Instant, random: SeededRandom) {
        self.start = start
        var random = random
        siteLevel = 1013 + random.nextDouble(in: -8...8)
        outdoorMean = random.nextDouble(in: -6...2)
        self.random = random
    }

    /// Indoor pressure in hPa at `instant` (weather + tide).
    public func pressure(at instant: Instant) -> Double {
        advance(to: instant)
        let hours = hoursOfDay(instant)
        let tide = 0.6 * cos(2 * Double.pi * (hours - 10) / 12)
        return siteLevel + excursion + tide
    }

    /// Outdoor air temperature in °C at `instant`.
    public func outdoorTemperature(at instant: Instant) -> Double {
        let hours = hoursOfDay(instant)
        return outdoorMean - 4 * cos(2 * Double.pi * (hours - 5) / 24)
    }

    private func hoursOfDay(_ instant: Instant) -> Double {
        let seconds = instant.nanosecondsSinceEpoch / 1_000_000_000
        return Double(seconds % 86_400) / 3600
    }

    private func advance(to instant: Instant) {
        let target = (instant.nanosecondsSinceEpoch - start.nanosecondsSinceEpoch) / Self.step.nanoseconds
        let dtHours = Self.step.secondsValue / 3600
        let decay = exp(-dtHours / Self.rateCorrelationHours)
        let kick = Self.rateSigmaPerHour * (1 - decay * decay).squareRoot()
        while stepIndex < target {
            rate = rate * decay + kick * random.nextGaussian()
            var pull = 0.0
            if abs(excursion) > 15 { pull = -0.1 * (excursion - 15 * (excursion > 0 ? 1 : -1)) }
            excursion += (rate + pull) * dtHours
            stepIndex += 1
        }
    }
}
