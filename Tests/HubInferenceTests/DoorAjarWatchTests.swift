import HubCore
import HubInference
import Testing

@Suite("Door ajar watch")
struct DoorAjarWatchTests {
    /// 8 min of running, the air may fall 0.3 K, rise 0.4 K a sample, humidity at least 80 %RH.
    static let rule = ModelManifest.DoorAjar(runningG: 0.004, run: .seconds(8 * 60), airFallMax: 0.3, openingStep: 0.4,
                                             humidityMin: 80)

    /// A fridge's samples every 10 s.
    struct Fridge {
        var watch = DoorAjarWatch(rule: DoorAjarWatchTests.rule, interval: .seconds(10))
        var second: Int64 = 0
        var temperature = 4.0
        var humidity = 90.0

        /// Feeds `samples` samples, the air changing by `airChange` K each and the humidity
        /// set to `humidity` if given; returns every score.
        @discardableResult
        mutating func feed(samples: Int, running: Bool = true, airChange: Double = 0, humidity: Double? = nil,
                           continuous: Bool = true) -> [Double] {
            var scores: [Double] = []
            for index in 0..<samples {
                temperature += airChange
                if let humidity { self.humidity = humidity }
                scores.append(watch.observe(at: Instant(secondsSinceEpoch: second), vibration: running ? 0.02 : 0.0015,
                                            temperature: temperature, humidity: self.humidity,
                                            continuous: continuous || index > 0))
                second += 10
            }
            return scores
        }
    }

    @Test("eight minutes of running with the air standing still and the cabinet humid is a door ajar")
    func ajarFires() {
        var fridge = Fridge()
        let scores = fridge.feed(samples: 60, airChange: 0.01)
        #expect(fridge.watch.samples == 48)
        // The first sample has no predecessor to rule out a step; 48 steady steps after it the rule holds.
        #expect(scores[..<48].allSatisfy { $0 == 0 }, "\(scores)")
        #expect(scores[48] == 1)
        #expect(scores[59] == 59.0 / 48.0)
    }

    @Test("a healthy run pulls the air down, however long it runs")
    func coolingRunIsHealthy() {
        var fridge = Fridge()
        // 0.4 K a minute, the slowest a loaded healthy run cools.
        let scores = fridge.feed(samples: 120, airChange: -0.4 / 6)
        #expect(scores.allSatisfy { $0 == 0 })
    }

    @Test("an opening's step restarts the count: a dinner's load holding the air up is no door ajar")
    func openingStepRestarts() {
        var fridge = Fridge()
        fridge.feed(samples: 40)
        // A wide-open door: 2.5 K in one sample, then the load holds the air up.
        #expect(fridge.feed(samples: 1, airChange: 2.5) == [0])
        let after = fridge.feed(samples: 47)
        #expect(after.allSatisfy { $0 == 0 }, "47 samples after the step are not enough")
        #expect(fridge.feed(samples: 1) == [1])
    }

    @Test("warm air that dries the cabinet below the humidity floor is not a door ajar")
    func dryCabinetIsHealthy() {
        var fridge = Fridge()
        let scores = fridge.feed(samples: 100, humidity: 79.9)
        #expect(scores.allSatisfy { $0 == 0 })
        // Humid again: the count starts at the first humid sample.
        let humid = fridge.feed(samples: 48, humidity: 85)
        #expect(humid[..<47].allSatisfy { $0 == 0 } && humid[47] == 1, "\(humid)")
    }

    @Test("a rest or a gap in the readings restarts the count")
    func restAndGapRestart() {
        var fridge = Fridge()
        fridge.feed(samples: 40)
        fridge.feed(samples: 1, running: false)
        #expect(fridge.feed(samples: 47).allSatisfy { $0 == 0 })
        #expect(fridge.feed(samples: 1) == [1])
        fridge.feed(samples: 1, continuous: false)
        #expect(fridge.feed(samples: 46).allSatisfy { $0 == 0 })
        #expect(fridge.feed(samples: 1) == [0], "the gap's sample has no predecessor: 47 steps so far")
        #expect(fridge.feed(samples: 1) == [1])
    }

    @Test("the air may fall up to the limit and no further")
    func fallLimit() {
        var fridge = Fridge()
        // 0.29 K over 48 samples: within the limit; 0.31 K: beyond it.
        let atLimit = fridge.feed(samples: 49, airChange: -0.29 / 48)
        #expect(atLimit[48] > 0)
        var falling = Fridge()
        let beyond = falling.feed(samples: 49, airChange: -0.31 / 48)
        #expect(beyond[48] == 0)
    }

    @Test("the look-back is the run at the package's sample interval, at least one sample")
    func samplesFromInterval() {
        #expect(DoorAjarWatch(rule: Self.rule, interval: .seconds(60)).samples == 8)
        #expect(DoorAjarWatch(rule: Self.rule, interval: .seconds(3600)).samples == 1)
    }
}
