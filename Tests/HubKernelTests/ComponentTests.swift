import HubCore
import HubDrivers
import HubInference
import HubKernel
import HubStore
import Testing

@Suite("Bus router, display, uplink and inference components")
struct ComponentTests {
    let t0 = Instant(secondsSinceEpoch: 1_000)

    @Test("the router delivers in subscription order, each subscriber once")
    func router() throws {
        var router = BusRouter()
        let (inference, display, uplink) = (1, 2, 3)
        router.subscribe(uplink, to: "dt/local/sensor/+")
        router.subscribe(inference, to: "dt/local/#")
        router.subscribe(uplink, to: "dt/#")
        router.subscribe(display, to: "hbs/alerts/+")
        #expect(router.subscribers(for: .sensorReading("hvac")) == [uplink, inference])
        #expect(router.subscribers(for: .alert("hvac")) == [display])
        #expect(router.subscribers(for: .inference("hvac")) == [])
    }

    @Test("the display writes green at start, red on an anomaly, amber for degraded health, only on change")
    func display() {
        var display = DisplayComponent()
        let start = display.start()
        #expect(start == [.write(LEDFrame(filledWith: .green), colour: "green", reason: "start")])
        let health = HealthReport(timestamp: t0, component: "sensor", device: "hvac", state: .degraded, detail: "")
        #expect(display.handle(.health(health)).first.map { if case .write(_, let c, _) = $0 { c } else { "" } } == "amber")
        #expect(display.handle(.health(health)) == [], "same colour: no write")
        let alert = Alert(timestamp: t0, device: "hvac", state: .anomalous, previous: .normal, model: "m", score: 9)
        #expect(display.colour == .amber)
        _ = display.handle(.alert(alert))
        #expect(display.colour == .red, "red wins over amber")
        var cleared = alert
        cleared.state = .normal
        _ = display.handle(.alert(cleared))
        #expect(display.colour == .amber)
        var healed = health
        healed.state = .ok
        _ = display.handle(.health(healed))
        #expect(display.colour == .green)
    }

    @Test("the uplink wraps each message in an envelope with sequential IDs and ignores inference results")
    func uplink() throws {
        var uplink = UplinkComponent(thing: "hbshub001", outbox: try SQLiteOutboxStore(path: nil))
        let reading = Reading(timestamp: t0, device: "hvac", values: ChannelValues([(.temperature, 20)]))
        let first = uplink.handle(.reading(reading), now: t0)
        guard case .send(let message) = first.first else {
            Issue.record("no send")
            return
        }
        #expect(message.topic.name == "hbs/hbshub001/telemetry")
        #expect(message.messageID == "hbshub001-1")
        #expect(String(decoding: message.payload, as: UTF8.self)
            == #"{"message_id": "hbshub001-1", "readings": [{"timestamp": 1000.0000, "device_id": "hvac", "temperature": 20}]}"#)
        let result = InferenceResult(timestamp: t0, device: "hvac", model: "m", score: 1, threshold: 2, anomalous: false)
        #expect(uplink.handle(.inference(result), now: t0) == [])
        let alert = Alert(timestamp: t0, device: "hvac", state: .anomalous, previous: .normal, model: "m", score: 9)
        guard case .send(let alertMessage) = uplink.handle(.alert(alert), now: t0).first else {
            Issue.record("no alert send")
            return
        }
        #expect(alertMessage.topic.name == "hbs/hbshub001/alerts")
        #expect(alertMessage.messageID == "hbshub001-2")
    }

    /// A detector that replays a scripted list of scores.
    struct ScriptedDetector: AnomalyDetector {
        let model = "scripted@1.0.0"
        let threshold = 1.0
        var scores: [Double?]
        mutating func observe(_ reading: Reading) -> Double? { scores.isEmpty ? nil : scores.removeFirst() }
    }

    @Test("inference publishes a result per scored window and an alert on each debounced change")
    func inference() {
        var component = InferenceComponent(
            devices: ["hvac"], detectors: [ScriptedDetector(scores: [nil, 0.5, 2, 2, 0.1, 0.1])], debounceK: 2, debounceN: 3)
        let reading = Reading(timestamp: t0, device: "hvac", values: ChannelValues([(.temperature, 20)]))
        #expect(component.handle(reading, now: t0) == [], "warming up")
        #expect(component.handle(reading, now: t0).count == 1)
        #expect(component.handle(reading, now: t0).count == 1)
        let raised = component.handle(reading, now: t0)
        #expect(raised.count == 2)
        guard case .publish(let topic, .alert(let alert)) = raised.last else {
            Issue.record("no alert")
            return
        }
        #expect(topic == .alert("hvac"))
        #expect(alert.state == .anomalous && alert.previous == .normal)
        #expect(component.condition(of: "hvac") == .anomalous)
        _ = component.handle(reading, now: t0)
        let cleared = component.handle(reading, now: t0)
        #expect(cleared.count == 2, "two calm of the last three clear the alert")
        #expect(component.condition(of: "hvac") == .normal)
    }

    @Test("a suspect reading never reaches the detector, so a drifting thermometer raises no appliance alert")
    func suspectReadingsAreNotScored() {
        var component = InferenceComponent(
            devices: ["hvac"], detectors: [ScriptedDetector(scores: [2, 2, 2])], debounceK: 1, debounceN: 1)
        let suspect = Reading(timestamp: t0, device: "hvac", values: ChannelValues([(.temperature, 80)]), quality: .suspect)
        for _ in 0..<5 { #expect(component.handle(suspect, now: t0) == []) }
        let partial = Reading(timestamp: t0, device: "hvac", values: ChannelValues([(.temperature, 80)]), quality: .partial)
        #expect(component.handle(partial, now: t0).count == 2, "a partial reading is scored: the detector's scripted 2 raises the alert")
    }
}
