import HubCore
import HubKernel
import HubSim
import Testing

@Suite("The simulated cloud fails the way its fault model says, and reconnects with the live client's backoff")
struct SimCloudBrokerTests {
    final class Completions: CompletionSink {
        var entries: [(PortCompletion, Instant)] = []
        func complete(_ completion: PortCompletion, at: Instant) { entries.append((completion, at)) }
    }

    final class Recorder: HistorySink {
        var events: [HistoryEvent] = []
        func record(_ event: HistoryEvent, at time: Instant) { events.append(event) }
    }

    let t0 = Instant(secondsSinceEpoch: 1_000)

    func broker() -> (SimCloudBroker, Completions, Recorder, () -> [Instant]) {
        let recorder = Recorder()
        let broker = SimCloudBroker(history: recorder, random: SeededRandom(seed: 4))
        let completions = Completions()
        broker.completions = completions
        var attempts: [Instant] = []
        broker.scheduleAttempt = { attempts.append($0) }
        return (broker, completions, recorder, { attempts })
    }

    func message(_ n: Int) -> CloudMessage {
        CloudMessage(topic: .cloudAlerts("hub"), messageID: "hub-\(n)", payload: Array("{}".utf8))
    }

    @Test("offline: the connection drops at once, attempts are refused with backoff capped near a minute, and the first attempt after the fault connects")
    func offline() {
        let (broker, completions, recorder, attempts) = broker()
        broker.apply(.cloud(.offline), active: true, now: t0)
        #expect(completions.entries.map(\.0) == [.cloud(.connection(up: false, reason: "connection lost"))])
        broker.send(message(1), at: t0)
        #expect(completions.entries.last?.0 == .cloud(.failed(messageID: "hub-1", reason: "not connected")))
        var now = t0
        for _ in 0..<20 {
            guard let next = attempts().last, next > now else { Issue.record("no attempt scheduled"); return }
            now = next
            broker.connectAttempt(now: now)
        }
        let gaps = zip(attempts(), attempts().dropFirst()).map { ($1 - $0).secondsValue }
        #expect(gaps.prefix(3).allSatisfy { $0 < 10 }, "the first retries come quickly: \(gaps)")
        #expect(gaps.suffix(10).allSatisfy { $0 >= 30 && $0 <= 60 }, "then at most once a minute, jittered: \(gaps)")
        #expect(broker.refusedAttempts == 20)
        #expect(recorder.events.contains(.componentError(component: "cloud", error: "attempt 3: connection refused: broker unreachable")))
        broker.apply(.cloud(.offline), active: false, now: now)
        broker.connectAttempt(now: attempts().last!)
        #expect(completions.entries.last?.0 == .cloud(.connection(up: true, reason: "connected")))
        broker.send(message(2), at: now)
        #expect(completions.entries.last?.0 == .cloud(.acknowledged(messageID: "hub-2")))
    }

    @Test("reject-auth says not authorised; restart is back after its downtime")
    func rejectAndRestart() {
        let (broker, completions, _, attempts) = broker()
        broker.apply(.cloud(.rejectAuth), active: true, now: t0)
        broker.connectAttempt(now: attempts()[0])
        #expect(completions.entries.last?.0 == .cloud(.connection(up: false, reason: "connection refused: not authorised (CONNACK 5)")))
        broker.apply(.cloud(.rejectAuth), active: false, now: attempts()[0])

        let (restarting, restartCompletions, _, restartAttempts) = self.broker()
        restarting.apply(.cloud(.restart(down: .seconds(30))), active: true, now: t0)
        var now = t0
        while restartCompletions.entries.last?.0 != .cloud(.connection(up: true, reason: "connected")) {
            now = restartAttempts().last!
            restarting.connectAttempt(now: now)
        }
        #expect(now - t0 >= .seconds(30) && now - t0 < .seconds(90), "back after the downtime and a backoff: \(now - t0)")
    }

    @Test("flaky resets the connection instead of delivering; a lost PUBACK delivers, then resets; a delay acknowledges late")
    func flakyAndPubacks() {
        let (flaky, flakyCompletions, flakyHistory, _) = broker()
        flaky.apply(.cloud(.flaky(chance: 1)), active: true, now: t0)
        flaky.send(message(1), at: t0)
        #expect(flaky.receivedCount == 0 && flakyHistory.events.isEmpty)
        #expect(flakyCompletions.entries.map(\.0) == [.cloud(.connection(up: false, reason: "connection reset while sending hub-1"))])

        let (lost, lostCompletions, lostHistory, _) = broker()
        lost.apply(.cloud(.pubackLost(chance: 1)), active: true, now: t0)
        lost.send(message(1), at: t0)
        #expect(lostHistory.events == [.cloudReceive(topic: .cloudAlerts("hub"), messageID: "hub-1")], "the broker has it")
        #expect(lostCompletions.entries.map(\.0) == [.cloud(.connection(up: false, reason: "PUBACK for hub-1 lost: connection reset"))])

        let (late, lateCompletions, _, _) = broker()
        late.apply(.cloud(.pubackDelay(delay: .seconds(10))), active: true, now: t0)
        late.apply(.cloud(.latency(extra: .seconds(2), jitter: .zero)), active: true, now: t0)
        late.send(message(1), at: t0)
        guard let (ack, at) = lateCompletions.entries.last else { Issue.record("no ack"); return }
        #expect(ack == .cloud(.acknowledged(messageID: "hub-1")))
        #expect(at - t0 >= .milliseconds(12_020) && at - t0 <= .milliseconds(12_120))
    }

    @Test("received bytes count whole MQTT PUBLISH packets")
    func wireBytes() {
        let (broker, completions, _, _) = broker()
        defer { withExtendedLifetime(completions) {} }  // the broker holds its sink weakly
        broker.send(CloudMessage(topic: .cloudAlerts("hub"), messageID: "a", payload: [UInt8](repeating: 0x7B, count: 100)), at: t0)
        // 1 header byte + 1 length byte + (2 + 14 topic + 2 id + 100 payload)
        #expect(broker.receivedBytes == 2 + 118)
        broker.send(CloudMessage(topic: .cloudAlerts("hub"), messageID: "b", payload: [UInt8](repeating: 0x7B, count: 200)), at: t0)
        #expect(broker.receivedBytes == 120 + 3 + 218, "two length bytes past 127")
    }
}

@Suite("A simulated monitoring kit's hostile payloads are each rejected by the kit bridge")
struct SimMQTTKitPayloadTests {
    @Test("every payload in the kit's hostile catalogue is rejected, none accepted")
    func hostileCatalogue() {
        var bridge = KitBridgeComponent(kits: [.init(id: "washer", kind: .washer, interval: .seconds(10))])
        let now = Instant(secondsSinceEpoch: 1_768_435_200)
        _ = bridge.handle(.start, now: now)
        for payload in SimMQTTKit.hostilePayloads {
            _ = bridge.receive(topic: KitBridgeComponent.topic("washer"), payload: payload, now: now)
        }
        #expect(bridge.accepted == 0)
        #expect(bridge.rejected.total == SimMQTTKit.hostilePayloads.count)
    }
}

@Suite("The uplink hears the cloud even before it has sent anything")
struct UplinkHearsCloudTests {
    @Test("with daily batches and no alert yet, a cloud outage after 10 minutes still turns the uplink's health degraded")
    func outageBeforeFirstSend() {
        let hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace, detector: .none)], pollInterval: .seconds(10),
                            telemetryBatching: .product)
        let setup = SimulationSetup(seed: 2, duration: .seconds(3600), hub: hub,
                                    faults: [ScheduledFault(at: .seconds(600), duration: .seconds(600), fault: .cloud(.offline))])
        let simulation = Simulation(setup: setup)
        simulation.run()
        let states = simulation.history.entries.compactMap { entry -> HealthState? in
            if case .busPublish(_, "uplink", .health(let report)) = entry.event { report.state } else { nil }
        }
        #expect(states == [.degraded, .ok])
    }
}
