import HubCore
import HubDrivers
import HubKernel
import Testing

@Suite("Sensor component state machine")
struct SensorComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)
    func component() -> SensorComponent {
        SensorComponent(devices: [.init(id: "hvac", chips: ["HTS221", "LPS25H"])], pollInterval: .seconds(10))
    }

    @Test("start schedules a poll now; a poll initialises every chip and schedules the next at a fixed rate")
    func polling() {
        var sensor = component()
        #expect(sensor.handle(.start, now: t0) == [.schedule(.poll, at: t0)])
        let actions = sensor.handle(.timer(.poll), now: t0)
        #expect(actions == [.schedule(.poll, at: t0 + .seconds(10)),
                            .initialise(device: 0, chip: 0), .initialise(device: 0, chip: 1)])
        // A late wake-up does not shift the grid.
        let late = sensor.handle(.timer(.poll), now: t0 + .seconds(10) + .milliseconds(300))
        #expect(late.first == .schedule(.poll, at: t0 + .seconds(20)))
    }

    @Test("a reading is published once every chip has answered, with channels merged")
    func publish() {
        var sensor = component()
        _ = sensor.handle(.start, now: t0)
        _ = sensor.handle(.timer(.poll), now: t0)
        let ready = sensor.handle(.initialised(device: 0, chip: 0, .success("ok")), now: t0)
        #expect(ready.last == .sample(device: 0, chip: 0))
        #expect(sensor.handle(.sampled(device: 0, chip: 0, .success(ChannelValues([(.temperature, 21.456), (.humidity, 40)]))), now: t0) == [])
        _ = sensor.handle(.initialised(device: 0, chip: 1, .success("ok")), now: t0)
        let done = sensor.handle(.sampled(device: 0, chip: 1, .success(ChannelValues([(.pressure, 1013.004)]))), now: t0)
        #expect(done == [.publish(Reading(timestamp: t0, device: "hvac",
                                          values: ChannelValues([(.temperature, 21.46), (.humidity, 40), (.pressure, 1013)])))])
    }

    @Test("not-ready data is asked again after a short delay, a bounded number of times")
    func notReady() {
        var sensor = SensorComponent(devices: [.init(id: "hvac", chips: ["HTS221"])], pollInterval: .seconds(10),
                                     readyRetryDelay: .milliseconds(20), readyRetriesMax: 2)
        _ = sensor.handle(.start, now: t0)
        _ = sensor.handle(.timer(.poll), now: t0)
        _ = sensor.handle(.initialised(device: 0, chip: 0, .success("ok")), now: t0)
        #expect(sensor.handle(.sampled(device: 0, chip: 0, .success(nil)), now: t0)
            == [.schedule(.retry(device: 0, chip: 0), at: t0 + .milliseconds(20))])
        #expect(sensor.handle(.timer(.retry(device: 0, chip: 0)), now: t0 + .milliseconds(20)) == [.sample(device: 0, chip: 0)])
        _ = sensor.handle(.sampled(device: 0, chip: 0, .success(nil)), now: t0 + .milliseconds(20))
        let giveUp = sensor.handle(.sampled(device: 0, chip: 0, .success(nil)), now: t0 + .milliseconds(40))
        #expect(giveUp.count == 1)
        guard case .record(.sensorError(_, _, let error)) = giveUp.first else {
            Issue.record("expected a sensor error, got \(giveUp)")
            return
        }
        #expect(error.contains("not ready"))
    }

    @Test("a failed chip is re-initialised on the next poll; the others still publish")
    func failureRecovery() {
        var sensor = component()
        _ = sensor.handle(.start, now: t0)
        _ = sensor.handle(.timer(.poll), now: t0)
        _ = sensor.handle(.initialised(device: 0, chip: 0, .success("ok")), now: t0)
        _ = sensor.handle(.sampled(device: 0, chip: 0, .success(ChannelValues([(.temperature, 20)]))), now: t0)
        _ = sensor.handle(.initialised(device: 0, chip: 1, .success("ok")), now: t0)
        let failed = sensor.handle(.sampled(device: 0, chip: 1, .failure(.bus(chip: "LPS25H", .noAck(address: 0x5C)))), now: t0)
        #expect(failed.count == 2)
        #expect(failed.last == .publish(Reading(timestamp: t0, device: "hvac", values: ChannelValues([(.temperature, 20)]))))
        let next = sensor.handle(.timer(.poll), now: t0 + .seconds(10))
        #expect(next.contains(.sample(device: 0, chip: 0)))
        #expect(next.contains(.initialise(device: 0, chip: 1)))
    }

    @Test("a device whose every chip failed publishes nothing")
    func allFailed() {
        var sensor = SensorComponent(devices: [.init(id: "hvac", chips: ["HTS221"])], pollInterval: .seconds(10))
        _ = sensor.handle(.start, now: t0)
        _ = sensor.handle(.timer(.poll), now: t0)
        let actions = sensor.handle(.initialised(device: 0, chip: 0, .failure(.absent(chip: "HTS221", address: 0x5F))), now: t0)
        #expect(!actions.contains { if case .publish = $0 { true } else { false } })
    }
}
