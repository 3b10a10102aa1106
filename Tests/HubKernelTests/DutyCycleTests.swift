import HubCore
import HubDrivers
import HubKernel
import Testing

@Suite("Fridge duty cycle")
struct DutyCycleTests {
    @Test("the estimator says nothing until a whole hour of readings is in, then the running share")
    func estimatorWaitsForTheWindow() {
        var estimator = DutyCycleEstimator(window: .seconds(3600), pollInterval: .seconds(10))
        #expect(estimator.capacity == 360)
        // Compressor off for the first 10 minutes, then on: a partial window would say 0 %.
        for poll in 0..<359 {
            let vibration = poll < 60 ? 0.001 : 0.015
            #expect(estimator.add(vibration: vibration) == nil, "poll \(poll): less than an hour seen")
        }
        #expect(estimator.add(vibration: 0.015) == 300.0 * 100 / 360)
        // From then on it slides: the quiet start leaves the window one poll at a time.
        #expect(estimator.add(vibration: 0.015) == 301.0 * 100 / 360)
    }

    @Test("a fridge kit's readings carry no duty_cycles before an hour of polls, and do after")
    func componentOmitsTheChannel() {
        let t0 = Instant(secondsSinceEpoch: 1_000)
        var sensor = SensorComponent(devices: [.init(id: "fridge", chips: ["LSM9DS1"], derivesDutyCycle: true)],
                                     pollInterval: .seconds(10))
        let published = sensor.drivePolls(361, from: t0) { _, _ in ChannelValues([(.vibration, 0.001)]) }.readings
        #expect(published.count == 361)
        #expect(published.prefix(359).allSatisfy { $0.values[.dutyCycles] == nil }, "no made-up duty in the first hour")
        #expect(published[359].values[.dutyCycles] == 0, "a compressor that never ran: 0 %, now that it is measured")
        #expect(published.allSatisfy { $0.values[.vibration] == 0.001 })
    }
}
