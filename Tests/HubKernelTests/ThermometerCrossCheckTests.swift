import HubCore
import HubDrivers
import HubKernel
import Testing

@Suite("Thermometer cross-check")
struct ThermometerCrossCheckTests {
    /// Small settings so a test runs in few samples: learn over 6, median over 4.
    let settings = ThermometerCrossCheck.Settings(learning: .seconds(60), window: .seconds(40), limit: 1.0, absoluteLimit: 4.0)

    func check() -> ThermometerCrossCheck { ThermometerCrossCheck(pollInterval: .seconds(10), settings: settings) }

    /// Feeds `differences` (primary − reference, primary swinging like a furnace's supply air);
    /// returns the verdict changes with their sample index.
    func feed(_ check: inout ThermometerCrossCheck, _ differences: [Double], from start: Int = 0) -> [(Int, Bool)] {
        var changes: [(Int, Bool)] = []
        for (i, difference) in differences.enumerated() {
            let primary = 20 + 30 * Double((start + i) % 7) / 6
            if let verdict = check.add(primary: primary, reference: primary - difference) { changes.append((start + i, verdict)) }
        }
        return changes
    }

    @Test("a pair's own steady offset is learnt as normal, whatever the appliance does to the air")
    func steadyOffsetIsNormal() {
        var check = check()
        #expect(feed(&check, Array(repeating: 2.5, count: 500)).isEmpty)
        #expect(check.usualDifference == 2.5)
        #expect(!check.isDrifting)
    }

    @Test("a difference walking more than the limit from the learnt one is a drift, cleared below half the limit")
    func driftAndRecovery() {
        var check = check()
        #expect(feed(&check, Array(repeating: 0.3, count: 10)).isEmpty)
        // Walks away 0.1 °C per sample: the window's median passes 1.3 about 12 samples in.
        let walk = (1...30).map { 0.3 + 0.1 * Double($0) }
        let changes = feed(&check, walk, from: 10)
        #expect(changes.count == 1)
        #expect(changes.first?.1 == true)
        #expect((20...24).contains(changes.first?.0 ?? 0))
        #expect(check.detail.contains("usually 0.30 °C"))
        // Back to 0.9 (0.6 away): still drifting, inside the hysteresis.
        #expect(feed(&check, Array(repeating: 0.9, count: 10), from: 40).isEmpty)
        #expect(check.isDrifting)
        let back = feed(&check, Array(repeating: 0.5, count: 10), from: 50)
        #expect(back.count == 1 && back.first?.1 == false)
    }

    @Test("a pair further apart than both accuracies allow is a drift from the first full window, before learning ends")
    func absoluteLimit() {
        var check = check()
        let changes = feed(&check, Array(repeating: 4.5, count: 5))
        #expect(changes.count == 1 && changes.first?.0 == 3, "the window (4 samples) is full at the fourth sample")
        #expect(check.usualDifference == nil)
    }

    @Test("the running median equals the median of the window's last samples, repeats and all")
    func runningMedianMatchesSort() {
        var check = ThermometerCrossCheck(pollInterval: .seconds(1), settings: .production)
        var random = SeededRandom(seed: 7)
        var all: [Double] = []
        for _ in 0..<5000 {
            // Hundredths, as readings carry them, so equal values are common.
            let difference = (random.nextDouble(in: -3...3) * 100).rounded() / 100
            all.append(difference)
            _ = check.add(primary: 20 + difference, reference: 20)
            guard all.count >= 1800, all.count % 25 == 0 else { continue }
            let window = all.suffix(1800).map { ($0 + 20) - 20 }.sorted()
            #expect(check.currentDifference == (window[899] + window[900]) / 2)
        }
    }

    @Test("isolated spikes on either thermometer move no median, so they are no drift")
    func spikesAreNotDrift() {
        var check = check()
        var differences: [Double] = []
        for i in 0..<400 { differences.append(i % 5 == 0 ? (i % 10 == 0 ? 8 : -8) : 0.2) }
        #expect(feed(&check, differences).isEmpty)
    }
}

@Suite("Sensor component with two thermometers")
struct SensorComponentCrossCheckTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)
    let settings = ThermometerCrossCheck.Settings(learning: .seconds(60), window: .seconds(40), limit: 1.0, absoluteLimit: 4.0)

    /// Runs `polls` polls where the HTS221 reads `hts(i)` and the LPS25H `20` plus pressure.
    func run(polls: Int, chips: [String] = ["HTS221", "LPS25H"], hts: (Int) -> Double) -> (readings: [Reading], health: [HealthReport]) {
        var sensor = SensorComponent(devices: [.init(id: "hvac", chips: chips)], pollInterval: .seconds(10), crossCheck: settings)
        return sensor.drivePolls(polls, from: t0) { poll, chip in
            chips[chip] == "HTS221" ? ChannelValues([(.temperature, hts(poll)), (.humidity, 40)])
                : ChannelValues([(.pressure, 1000), (.referenceTemperature, 20)])
        }
    }

    @Test("while the thermometers disagree the device is degraded and its readings suspect, values as measured")
    func driftMarksReadingsSuspect() {
        // Agree (+0.5) for 20 polls, then the HTS221 reads 3 °C high for 20, then agrees again.
        let (readings, health) = run(polls: 60) { i in (20...39).contains(i) ? 23.5 : 20.5 }
        #expect(readings.count == 60)
        #expect(readings.allSatisfy { $0.values[.referenceTemperature] == nil }, "the LPS25H's temperature stays in the hub")
        let suspect = readings.indices.filter { readings[$0].quality == .suspect }
        #expect(suspect.first == 21, "the 4-sample median (the mean of its middle two) passes the limit at the second high sample")
        #expect(suspect.last == 41)
        #expect(readings[30].values[.temperature] == 23.5, "a suspect reading keeps its values")
        #expect(health.map(\.state) == [.degraded, .ok])
        #expect(health.first?.detail.contains("HTS221 and LPS25H temperatures differ by 2.00 °C, usually 0.50 °C") == true)
    }

    @Test("a kit without the LPS25H has nothing to compare and never calls its readings suspect")
    func singleThermometer() {
        let (readings, health) = run(polls: 40, chips: ["HTS221", "LSM9DS1"]) { i in 20 + Double(i) }
        #expect(readings.allSatisfy { $0.quality == .good })
        #expect(health.isEmpty)
    }
}
