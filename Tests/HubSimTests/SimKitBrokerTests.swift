import HubCore
import HubKernel
import HubSim
import Testing

@Suite("The kits' broker takes only kits with a valid certificate from the hub's authority, each on its own topic")
struct SimKitBrokerTests {
    let t0 = Instant(secondsSinceEpoch: 1_768_435_200)

    final class Inbox: CompletionSink {
        var topics: [String] = []
        func complete(_ completion: PortCompletion, at: Instant) {
            if case .kitMessage(let topic, _) = completion { topics.append(topic) }
        }
    }

    final class Lines: HistorySink {
        var errors: [String] = []
        func record(_ event: HistoryEvent, at time: Instant) {
            if case .componentError("local-broker", let error) = event { errors.append(error) }
        }
    }

    func certificate(_ device: DeviceID = "freezer", serial: String = "1002", days: Int64 = 30) -> KitCertificate {
        KitCertificate(device: device, serial: serial, notAfter: t0 + .seconds(days * 86_400))
    }

    @Test("each handshake is judged: none, a foreign CA, expired, revoked are refused with their reason; a valid one is taken", arguments: [
        (nil, SimKitBroker.Refusal.noCertificate),
        (SimKitBroker.Presented(certificate: KitCertificate(device: "freezer", serial: "1002", notAfter: Instant(secondsSinceEpoch: 1_800_000_000)), issuer: .foreign), .unknownAuthority),
        (SimKitBroker.Presented(certificate: KitCertificate(device: "freezer", serial: "1002", notAfter: Instant(secondsSinceEpoch: 1_768_000_000)), issuer: .hubAuthority), .expired),
        (SimKitBroker.Presented(certificate: KitCertificate(device: "freezer", serial: "1002-1", notAfter: Instant(secondsSinceEpoch: 1_800_000_000)), issuer: .hubAuthority), .revoked),
    ] as [(SimKitBroker.Presented?, SimKitBroker.Refusal)])
    func handshakes(presented: SimKitBroker.Presented?, refusal: SimKitBroker.Refusal) {
        let lines = Lines()
        let inbox = Inbox()
        let broker = SimKitBroker(requiresCertificates: true, revokedSerials: ["1002-1"], history: lines)
        broker.completions = inbox
        broker.publish(from: "freezer", presenting: presented, topic: KitBridgeComponent.topic("freezer"), payload: [], now: t0)
        broker.publish(from: "freezer", presenting: presented, topic: KitBridgeComponent.topic("freezer"), payload: [], now: t0 + .seconds(30))
        #expect(inbox.topics.isEmpty)
        #expect(broker.refusedCount(refusal) == 2)
        #expect(lines.errors == ["freezer: refused (\(refusal.rawValue)); 1 in all"], "logged when the reason changes, counted every time")
        broker.publish(from: "freezer", presenting: .init(certificate: certificate(), issuer: .hubAuthority),
                       topic: KitBridgeComponent.topic("freezer"), payload: [], now: t0 + .seconds(60))
        #expect(inbox.topics == [KitBridgeComponent.topic("freezer")])
        #expect(lines.errors.last == "freezer: connected again with certificate 1002")
    }

    @Test("a kit publishes only on its own topic; another kit's is denied")
    func ownTopicOnly() {
        let inbox = Inbox()
        let broker = SimKitBroker(requiresCertificates: true, revokedSerials: [], history: Lines())
        broker.completions = inbox
        let mine = SimKitBroker.Presented(certificate: certificate(), issuer: .hubAuthority)
        broker.publish(from: "freezer", presenting: mine, topic: KitBridgeComponent.topic("washer"), payload: [], now: t0)
        broker.publish(from: "freezer", presenting: mine, topic: KitBridgeComponent.topic("freezer"), payload: [], now: t0)
        #expect(inbox.topics == [KitBridgeComponent.topic("freezer")])
        #expect(broker.refusedCount(.deniedPublish) == 1)
    }

    @Test("an open connection outlives its certificate's revocation until the broker restarts; then the handshake is refused")
    func revocationRestarts() {
        let inbox = Inbox()
        let broker = SimKitBroker(requiresCertificates: true, revokedSerials: [], history: Lines())
        broker.completions = inbox
        let mine = SimKitBroker.Presented(certificate: certificate(), issuer: .hubAuthority)
        let topic = KitBridgeComponent.topic("freezer")
        broker.publish(from: "freezer", presenting: mine, topic: topic, payload: [], now: t0)
        broker.revoke("1002", now: t0 + .seconds(10))
        broker.publish(from: "freezer", presenting: mine, topic: topic, payload: [], now: t0 + .seconds(30))
        #expect(inbox.topics.count == 1)
        #expect(broker.refusedCount(.revoked) == 1)
        #expect(broker.revokedSerials == ["1002"])
    }

    func run(_ fault: KitFault) -> Simulation {
        var hub = HubConfig(thing: "hbshub001", devices: [.init(id: "hvac", kind: .furnace, detector: .none),
                                                          .init(id: "freezer", kind: .fridge, detector: .none, source: .mqttKit(interval: .seconds(30)))],
                            pollInterval: .seconds(10))
        hub.kitCertificates = [certificate()]
        let setup = SimulationSetup(seed: 3, duration: .seconds(3600), hub: hub,
                                    faults: [ScheduledFault(at: .seconds(600), duration: .seconds(1200), fault: .kit(device: "freezer", fault))])
        let simulation = Simulation(setup: setup)
        simulation.run()
        return simulation
    }

    func freezerReadings(_ simulation: Simulation) -> [Instant] {
        simulation.history.entries.compactMap { entry in
            if case .busPublish(_, "kit-bridge", .reading(let reading)) = entry.event { reading.timestamp } else { nil }
        }
    }

    @Test("a kit presenting a foreign CA's, an expired or its revoked certificate is shut out for the fault and taken again after it", arguments: [
        (KitFault.foreignCA, SimKitBroker.Refusal.unknownAuthority), (.expiredCertificate, .expired), (.revokedCertificate, .revoked),
    ])
    func identityFaults(fault: KitFault, refusal: SimKitBroker.Refusal) {
        let simulation = run(fault)
        let readings = freezerReadings(simulation)
        let start = simulation.setup.start
        #expect(!readings.contains { $0 > start + .seconds(601) && $0 < start + .seconds(1800) }, "nothing during the fault")
        #expect(readings.contains { $0 < start + .seconds(600) } && readings.contains { $0 > start + .seconds(1801) })
        #expect(simulation.world.kitBroker.refusedCount(refusal) == 40, "every interval of the 20 minutes")
        #expect(simulation.hub.kitMessagesRejected == 0, "refused by the broker: the bridge sees none of it")
    }

    @Test("a kit claiming another device's id passes the broker (its own topic) and is refused by the bridge")
    func impersonation() {
        let simulation = run(.impersonate)
        let start = simulation.setup.start
        #expect(!freezerReadings(simulation).contains { $0 > start + .seconds(601) && $0 < start + .seconds(1800) })
        #expect(simulation.hub.kitMessagesRejected == 40)
        #expect(simulation.world.kitBroker.refused.total == 0)
    }
}
