import HubCore
import HubInference

/// Scores each device's readings and raises an Alert when its debounced condition changes.
///
/// Every scored window becomes an InferenceResult on `hbs/inference/<device>`; the k-of-n
/// debouncer decides the condition, and only a change of condition is an Alert. While a
/// detector warms up (no score yet) nothing is published for that device.
public struct InferenceComponent {
    public enum Action: Equatable, Sendable {
        case publish(Topic, BusMessage)
    }

    private var devices: [DeviceID]
    private var detectors: [any AnomalyDetector]
    private var debouncers: [Debouncer]
    private let topics: [(inference: Topic, alert: Topic)]

    public init(devices: [DeviceID], detectors: [any AnomalyDetector], debounceK: Int, debounceN: Int) {
        precondition(devices.count == detectors.count, "one detector per device")
        self.devices = devices
        self.detectors = detectors
        debouncers = devices.map { _ in Debouncer(k: debounceK, n: debounceN) }
        topics = devices.map { (Topic.inference($0), Topic.alert($0)) }
    }

    public func condition(of device: DeviceID) -> DeviceCondition? {
        devices.firstIndex(of: device).map { debouncers[$0].condition }
    }

    public mutating func handle(_ reading: Reading, now: Instant) -> [Action] {
        guard let index = devices.firstIndex(of: reading.device),
              let score = detectors[index].observe(reading) else { return [] }
        let model = detectors[index].model
        let threshold = detectors[index].threshold
        let anomalous = score > threshold
        let result = InferenceResult(timestamp: reading.timestamp, device: reading.device, model: model,
                                     score: (score * 1000).rounded() / 1000, threshold: threshold, anomalous: anomalous)
        var actions: [Action] = [.publish(topics[index].inference, .inference(result))]
        let previous = debouncers[index].condition
        if let changed = debouncers[index].record(anomalous: anomalous) {
            let alert = Alert(timestamp: reading.timestamp, device: reading.device, state: changed,
                              previous: previous, model: model, score: result.score)
            actions.append(.publish(topics[index].alert, .alert(alert)))
        }
        return actions
    }
}
