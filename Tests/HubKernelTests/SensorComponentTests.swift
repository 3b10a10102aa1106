import HubCore
import HubDrivers
import HubKernel
import Testing

@Suite("Sensor component state machine")
struct SensorComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)
    let nack = DriverError.bus(chip: "LPS25H", .noAck(address: 0x5C))

    func component(chips: [String] = ["HTS221", "LPS25H"]) -> SensorComponent {
        SensorComponent(devices: [.init(id: "hvac", chips: chips)], pollInterval: .seconds(10))
    }

    /// Drives one chip through a whole poll with a scripted driver: each call to the driver
    /// takes the next scripted result. Returns every action the component produced.
    func runPoll(_ sensor: inout SensorComponent, at now: Instant,
                 script: [Int: [Result<ChannelValues?, DriverError>]], initOK: Bool = true) -> [SensorComponent.Action] {
        var script = script
        var all: [SensorComponent.Action] = []
        var queue = sensor.handle(.timer(.poll), now: now)
        var clock = now
        var timers: [(SensorTimer, Instant)] = []
        while true {
            while !queue.isEmpty {
                let action = queue.removeFirst()
                all.append(action)
                switch action {
                case .initialise(let d, let c):
                    let result: Result<String, DriverError> = initOK ? .success("ok") : .failure(.absent(chip: "X", address: 1))
                    queue += sensor.handle(.initialised(device: d, chip: c, result), now: clock)
                case .sample(let d, let c):
                    let next = script[c]?.isEmpty == false ? script[c]!.removeFirst() : .success(ChannelValues([(.temperature, 20)]))
                    queue += sensor.handle(.sampled(device: d, chip: c, next), now: clock)
                case .schedule(let timer, let at) where timer != .poll:
                    timers.append((timer, at))
                default: break
                }
            }
            guard !timers.isEmpty else { return all }
            timers.sort { $0.1 < $1.1 }
            let (timer, at) = timers.removeFirst()
            clock = at
            queue = sensor.handle(.timer(timer), now: clock)
        }
    }

    func published(_ actions: [SensorComponent.Action]) -> [Reading] {
        actions.compactMap { if case .publish(_, let r) = $0 { r } else { nil } }
    }

    func healthReports(_ actions: [SensorComponent.Action]) -> [HealthReport] {
        actions.compactMap { if case .publishHealth(let h) = $0 { h } else { nil } }
    }

    @Test("start schedules a poll now; a poll initialises every chip and schedules the next at a fixed rate")
    func polling() {
        var sensor = component()
        #expect(sensor.handle(SensorComponent.Event.start, now: t0) == [.schedule(.poll, at: t0)])
        let actions = sensor.handle(.timer(.poll), now: t0)
        #expect(actions == [.schedule(.poll, at: t0 + .seconds(10)),
                            .initialise(device: 0, chip: 0), .initialise(device: 0, chip: 1)])
        let late = sensor.handle(.timer(.poll), now: t0 + .seconds(10) + .milliseconds(300))
        #expect(late.first == .schedule(.poll, at: t0 + .seconds(20)), "a late wake-up does not shift the grid")
    }

    @Test("a reading is published once every chip has answered, with channels merged and rounded")
    func publish() {
        var sensor = component()
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        let actions = runPoll(&sensor, at: t0, script: [
            0: [.success(ChannelValues([(.temperature, 21.456), (.humidity, 40)]))],
            1: [.success(ChannelValues([(.pressure, 1013.004)]))],
        ])
        #expect(published(actions) == [Reading(timestamp: t0, device: "hvac",
                                               values: ChannelValues([(.temperature, 21.46), (.humidity, 40), (.pressure, 1013)]))])
        #expect(healthReports(actions).isEmpty, "healthy from the start: nothing to report")
    }

    @Test("not-ready data is asked again every 20 ms, a bounded number of times")
    func notReady() {
        var sensor = SensorComponent(devices: [.init(id: "hvac", chips: ["HTS221"])], pollInterval: .seconds(10),
                                     readyRetryDelay: .milliseconds(20), readyRetriesMax: 2)
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        let actions = runPoll(&sensor, at: t0, script: [0: [.success(nil), .success(nil), .success(nil)]])
        let retries = actions.filter { if case .schedule(.retry, let at) = $0 { at > t0 } else { false } }
        #expect(retries.count == 2)
        #expect(published(actions).isEmpty)
        #expect(actions.contains { if case .record(.sensorError(_, _, let e)) = $0 { e.contains("not ready") } else { false } })
    }

    @Test("a NACK is retried with exponential backoff; the reading still comes and health stays ok")
    func retryBackoff() {
        var sensor = component()
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        let actions = runPoll(&sensor, at: t0, script: [1: [.failure(nack), .failure(nack)]])
        let delays = actions.compactMap { action -> Duration? in
            if case .schedule(.retry, let at) = action { return at - t0 }
            return nil
        }
        #expect(delays == [.milliseconds(5), .milliseconds(15)], "5 ms, then 10 ms more")
        #expect(published(actions).count == 1)
        #expect(published(actions).first?.quality == .good)
        #expect(healthReports(actions).isEmpty)
    }

    @Test("a chip that keeps failing: partial readings, failed after three polls, backoff, then recovery to ok")
    func failedAndRecovered() {
        var sensor = component()
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        var reports: [HealthReport] = []
        var attemptsOnChip1: [Int] = []
        for poll in 0..<12 {
            let failing = poll < 8
            let script: [Int: [Result<ChannelValues?, DriverError>]] = failing ? [1: Array(repeating: .failure(nack), count: 4)] : [:]
            let actions = runPoll(&sensor, at: t0 + .seconds(Int64(10 * poll)), script: script)
            reports += healthReports(actions)
            let readings = published(actions)
            #expect(readings.count == 1, "the HTS221 keeps the device publishing")
            if failing { #expect(readings.first?.quality == .partial) }
            if actions.contains(.sample(device: 0, chip: 1)) || actions.contains(.initialise(device: 0, chip: 1)) {
                attemptsOnChip1.append(poll)
            }
        }
        #expect(reports.map(\.state) == [.degraded, .failed, .degraded])
        #expect(reports[1].detail.contains("LPS25H failed"))
        // Failed from poll 2 on: retried at polls 3, 5, 9 (backoff 1, 2, 4 polls), then every poll once healthy.
        #expect(attemptsOnChip1 == [0, 1, 2, 3, 5, 9, 10, 11])
        #expect(sensor.health(of: 0) == .degraded, "recent failures are still in the window")
    }

    @Test("a chip reset is re-initialised within the same poll")
    func reset() {
        var sensor = component(chips: ["HTS221"])
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        _ = runPoll(&sensor, at: t0, script: [:])
        let actions = runPoll(&sensor, at: t0 + .seconds(10), script: [0: [.failure(.chipReset(chip: "HTS221"))]])
        #expect(actions.contains(.initialise(device: 0, chip: 0)))
        #expect(published(actions).count == 1)
    }

    @Test("an absent chip is not retried within the poll")
    func absentNotRetried() {
        var sensor = component(chips: ["HTS221"])
        _ = sensor.handle(SensorComponent.Event.start, now: t0)
        let actions = runPoll(&sensor, at: t0, script: [:], initOK: false)
        #expect(actions.filter { $0 == .initialise(device: 0, chip: 0) }.count == 1)
        #expect(published(actions).isEmpty)
    }
}
