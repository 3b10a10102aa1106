import Foundation
import HubCore
import HubKernel
import Testing

@Suite("The kit bridge accepts monitoring kits' readings from the local broker and rejects what a home network should not send")
struct KitBridgeComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_768_435_200)
    static let topic = KitBridgeComponent.topic("freezer")

    func bridge() -> KitBridgeComponent {
        var bridge = KitBridgeComponent(kits: [.init(id: "freezer", kind: .fridge, interval: .seconds(30))])
        _ = bridge.handle(.start, now: t0)
        return bridge
    }

    func payload(_ seconds: Int64, device: String = "freezer", extra: String = "", temperature: String = "-18.5") -> [UInt8] {
        Array(#"{"timestamp": \#(JSONText.timestamp(t0 + .seconds(seconds), decimals: 4)), "device_id": "\#(device)", "temperature": \#(temperature), "humidity": 60\#(extra)}"#.utf8)
    }

    func published(_ actions: [KitBridgeComponent.Action]) -> [Reading] {
        actions.compactMap { if case .publish(_, .reading(let reading)) = $0 { reading } else { nil } }
    }

    @Test("a valid reading goes on the bus as the kit's own sensor reading")
    func accepts() {
        var bridge = bridge()
        let actions = bridge.receive(topic: Self.topic, payload: payload(1), now: t0 + .seconds(1))
        guard case .publish(let topic, .reading(let reading))? = actions.first else { Issue.record("nothing published"); return }
        #expect(topic == .sensorReading("freezer"))
        #expect(reading.device == "freezer" && reading.values[.temperature] == -18.5)
        #expect(bridge.accepted == 1)
    }

    @Test("each bad message is rejected with its reason, counted and logged", arguments: [
        (KitBridgeComponent.topic("garage"), #"{"timestamp": 1768435201, "device_id": "garage", "temperature": 1}"#, KitBridgeComponent.Rejection.unknownTopic),
        ("hbs/kits/freezer/telemetry/x", #"{}"#, .unknownTopic),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768435201, "device_id": "freezer", "temperature": "cold"}"#, .malformed),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768435201, "device_id": "freezer", "temperature": 1, "x": 2}"#, .malformed),
        (KitBridgeComponent.topic("freezer"), #"not json"#, .malformed),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768435201, "device_id": "hvac", "temperature": 1}"#, .impersonation),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768435201, "device_id": "freezer", "pressure": 1013}"#, .implausibleValue),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768435201, "device_id": "freezer", "temperature": -300}"#, .implausibleValue),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1768438801, "device_id": "freezer", "temperature": 1}"#, .implausibleTimestamp),
        (KitBridgeComponent.topic("freezer"), #"{"timestamp": 1000, "device_id": "freezer", "temperature": 1}"#, .implausibleTimestamp),
    ] as [(String, String, KitBridgeComponent.Rejection)])
    func rejects(_ topic: String, _ json: String, _ reason: KitBridgeComponent.Rejection) {
        var bridge = bridge()
        let actions = bridge.receive(topic: topic, payload: Array(json.utf8), now: t0 + .seconds(1))
        #expect(published(actions).isEmpty)
        #expect(bridge.rejectedCount(reason) == 1, "\(json)")
        guard case .record(.componentError("kit-bridge", let error))? = actions.first else { Issue.record("not logged"); return }
        #expect(error.contains("rejected (\(reason.rawValue))"), "\(error)")
    }

    @Test("oversized messages are refused before parsing; a repeat is a duplicate and an older one out of order")
    func sizeAndOrder() {
        var bridge = bridge()
        _ = bridge.receive(topic: Self.topic, payload: [UInt8](repeating: 0x20, count: 70_000), now: t0)
        #expect(bridge.rejectedCount(.oversized) == 1)
        #expect(published(bridge.receive(topic: Self.topic, payload: payload(30), now: t0 + .seconds(30))).count == 1)
        _ = bridge.receive(topic: Self.topic, payload: payload(30), now: t0 + .seconds(31))
        _ = bridge.receive(topic: Self.topic, payload: payload(20), now: t0 + .seconds(32))
        #expect(bridge.rejectedCount(.duplicate) == 1 && bridge.rejectedCount(.outOfOrder) == 1)
    }

    @Test("a flood is cut to the kit's burst and twice its rate; rejections are logged at most three a minute, counted in full")
    func flood() {
        var bridge = bridge()
        var accepted = 0
        var logged = 0
        for n in 1...200 {
            let actions = bridge.receive(topic: Self.topic, payload: payload(Int64(n)), now: t0 + .milliseconds(Int64(n) * 100))
            accepted += published(actions).count
            logged += actions.filter { if case .record = $0 { true } else { false } }.count
        }
        #expect(accepted == 6, "5 in the burst, one more refilled in 20 s at twice a 30 s rate")
        #expect(bridge.rejectedCount(.rateLimited) == 194)
        #expect(logged == 3)
    }

    @Test("a kit silent for three intervals is reported failed, and ok with its next reading")
    func silence() {
        var bridge = bridge()
        var now = t0
        var reports: [(HealthState, String)] = []
        for _ in 1...4 {
            now = now + .seconds(30)
            for action in bridge.handle(.timer(.silenceCheck(0)), now: now) {
                if case .publish(let topic, .health(let report)) = action {
                    #expect(topic == .health("kit-bridge") && report.device == "freezer")
                    reports.append((report.state, report.detail))
                }
            }
        }
        #expect(reports.map(\.0) == [.failed], "once, at the third interval")
        #expect(reports.first?.1.contains("silent for 1m30s") == true)
        let back = bridge.receive(topic: Self.topic, payload: payload(121), now: now + .seconds(1))
        #expect(back.contains { if case .publish(_, .health(let report)) = $0 { report.state == .ok } else { false } })
    }

    func identityReports(_ actions: [KitBridgeComponent.Action]) -> [HealthReport] {
        actions.compactMap { if case .publish(_, .health(let report)) = $0, report.component == "kit-identity" { report } else { nil } }
    }

    func enrolled(notAfter: Instant, revokedAt: Instant? = nil, warning: Duration = .seconds(86_400 * 3)) -> KitBridgeComponent {
        let certificate = KitCertificate(device: "freezer", serial: "1A", notAfter: notAfter, revokedAt: revokedAt)
        return KitBridgeComponent(kits: [.init(id: "freezer", kind: .fridge, interval: .seconds(30), certificate: certificate)], certificateWarning: warning)
    }

    @Test("a revoked kit is refused message by message — what slips through an open connection counts for nothing — and the revocation is reported failed at once")
    func revoked() {
        var bridge = enrolled(notAfter: t0 + .seconds(86_400 * 300))
        _ = bridge.handle(.start, now: t0)
        #expect(published(bridge.receive(topic: Self.topic, payload: payload(1), now: t0 + .seconds(1))).count == 1)
        let revocation = bridge.handle(.command(.revokeKit(device: "freezer", serial: "1A")), now: t0 + .seconds(10))
        #expect(identityReports(revocation).map(\.state) == [.failed])
        #expect(identityReports(revocation).first?.detail.contains("revoked") == true)
        let late = bridge.receive(topic: Self.topic, payload: payload(31), now: t0 + .seconds(31))
        #expect(published(late).isEmpty)
        #expect(bridge.rejectedCount(.revoked) == 1)
        #expect(bridge.handle(.command(.revokeKit(device: "freezer", serial: "1A")), now: t0 + .seconds(40)).isEmpty, "a second revocation says nothing new")
    }

    @Test("a hub that starts with a revoked kit reports it again and refuses it")
    func revokedAtStart() {
        var bridge = enrolled(notAfter: t0 + .seconds(86_400 * 300), revokedAt: t0 - .seconds(3600))
        let start = bridge.handle(.start, now: t0)
        #expect(identityReports(start).map(\.state) == [.failed])
        #expect(published(bridge.receive(topic: Self.topic, payload: payload(1), now: t0 + .seconds(1))).isEmpty)
        #expect(bridge.rejectedCount(.revoked) == 1)
    }

    @Test("a certificate is reported degraded from the warning ahead of its expiry, once a day, failed when it expires, and refused after")
    func expiry() {
        let notAfter = t0 + .seconds(86_400 * 5)
        var bridge = enrolled(notAfter: notAfter, warning: .seconds(86_400 * 3))
        var reports: [(Duration, HealthState)] = []
        var now = t0
        reports += identityReports(bridge.handle(.start, now: now)).map { (now - t0, $0.state) }
        while now < t0 + .seconds(86_400 * 7) {
            now = now + KitBridgeComponent.certificateCheckInterval
            reports += identityReports(bridge.handle(.timer(.certificateCheck), now: now)).map { (now - t0, $0.state) }
        }
        #expect(reports.map(\.1) == [.degraded, .degraded, .degraded, .failed])
        #expect(reports.first?.0 == .seconds(86_400 * 2), "three days ahead of the fifth day")
        #expect(reports.last?.0 == .seconds(86_400 * 5))
        #expect(published(bridge.receive(topic: Self.topic, payload: payload(86_400 * 7), now: now)).isEmpty)
        #expect(bridge.rejectedCount(.certificateExpired) == 1)
        var fresh = enrolled(notAfter: notAfter)
        _ = fresh.handle(.start, now: t0)
        #expect(published(fresh.receive(topic: Self.topic, payload: payload(86_400 * 5 - 1), now: notAfter - .seconds(1))).count == 1,
                "a second before its expiry it is still taken")
    }

    @Test("a kit claiming another kit's device_id on its own topic is refused, counted and reported degraded at most once an hour")
    func impersonation() {
        var bridge = KitBridgeComponent(kits: [.init(id: "freezer", kind: .fridge, interval: .seconds(30)), .init(id: "washer", kind: .washer, interval: .seconds(30))])
        _ = bridge.handle(.start, now: t0)
        var reports: [HealthReport] = []
        for second in stride(from: Int64(1), through: 3601, by: 60) {
            let actions = bridge.receive(topic: Self.topic, payload: payload(second, device: "washer"), now: t0 + .seconds(second))
            #expect(published(actions).isEmpty)
            reports += identityReports(actions)
        }
        #expect(bridge.rejectedCount(.impersonation) == 61)
        #expect(bridge.impersonations == [61, 0])
        #expect(reports.map(\.state) == [.degraded, .degraded])
        #expect(reports.first.map { $0.device == "freezer" && $0.detail.contains(#"claimed to be "washer""#) } == true)
        #expect(reports.last?.detail.contains("61 impersonations") == true)
    }

    @Test("fuzz: mutated readings (the project's Fuzzing harness, fixed seed) are accepted or rejected, never a crash, and each is counted")
    func fuzz() {
        var bridge = bridge()
        var handled = 0
        let seeds = [payload(1), payload(2, extra: #", "quality": "partial""#), Array(SimKitPayloads.valid.utf8)]
        let tally = Fuzzing.run(seeds: seeds, base: 0xB21D6E, ci: 10_000) { number, bytes in
            handled += 1
            let before = bridge.accepted
            _ = bridge.receive(topic: Self.topic, payload: bytes, now: t0 + .seconds(Int64(number)))
            return bridge.accepted > before
        }
        #expect(tally.slow.isEmpty)
        #expect(bridge.accepted + bridge.rejected.total == handled, "every message counted: \(tally)")
        #expect(bridge.rejectedCount(.malformed) > handled / 4)
    }
}

/// A reading as a kit sends it, for seeds.
enum SimKitPayloads {
    static let valid = #"{"timestamp": 1768435202.5, "device_id": "freezer", "temperature": -18.25, "humidity": 64.5}"#
}
