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
    private var topics: [(inference: Topic, alert: Topic)]

    /// `debounceK`/`debounceN` apply to detectors that bring no debounce of their own.
    public init(devices: [DeviceID], detectors: [any AnomalyDetector], debounceK: Int, debounceN: Int) {
        precondition(devices.count == detectors.count, "one detector per device")
        self.devices = devices
        self.detectors = detectors
        defaultDebounce = (debounceK, debounceN)
        debouncers = detectors.map { detector in
            let (k, n) = detector.debounce ?? (debounceK, debounceN)
            return Debouncer(k: k, n: n)
        }
        topics = devices.map { (Topic.inference($0), Topic.alert($0)) }
    }

    private let defaultDebounce: (k: Int, n: Int)

    /// The model (`name@version`) scoring a device, if any.
    public func model(of device: DeviceID) -> String? {
        devices.firstIndex(of: device).map { detectors[$0].model }
    }

    /// The detector scoring `device` (to hand its window to a successor).
    public func detector(of device: DeviceID) -> (any AnomalyDetector)? {
        devices.firstIndex(of: device).map { detectors[$0] }
    }

    /// Puts `detector` in charge of `device`, keeping the device's current condition, so a
    /// model update neither raises nor clears an alert by itself.
    public mutating func replaceDetector(for device: DeviceID, with detector: any AnomalyDetector) {
        let (k, n) = detector.debounce ?? defaultDebounce
        guard let index = devices.firstIndex(of: device) else {
            devices.append(device)
            detectors.append(detector)
            debouncers.append(Debouncer(k: k, n: n))
            topics.append((Topic.inference(device), Topic.alert(device)))
            return
        }
        detectors[index] = detector
        if debouncers[index].k != k || debouncers[index].n != n {
            debouncers[index] = Debouncer(k: k, n: n, condition: debouncers[index].condition)
        }
    }

    public func condition(of device: DeviceID) -> DeviceCondition? {
        devices.firstIndex(of: device).map { debouncers[$0].condition }
    }

    /// A `suspect` reading (the kit's thermometers disagree) is not scored: a drifting
    /// sensor is a sensor problem, reported as such, never an appliance failure. Skipping
    /// it leaves a gap, so the detector's window refills once the readings are trusted again.
    public mutating func handle(_ reading: Reading, now: Instant) -> [Action] {
        guard reading.quality != .suspect, let index = devices.firstIndex(of: reading.device),
              let score = detectors[index].observe(reading) else { return [] }
        let model = detectors[index].model
        let threshold = detectors[index].threshold
        let anomalous = score > threshold
        let result = InferenceResult(timestamp: reading.timestamp, device: reading.device, model: model,
                                     score: (score * 1_000_000).rounded() / 1_000_000, threshold: threshold, anomalous: anomalous)
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

/// Inference keeps no timers.
public enum InferenceTimer: Sendable {}

extension InferenceComponent: HubComponent {
    public var name: String { "inference" }
    public var subscriptions: [TopicFilter] { ["dt/local/sensor/+"] }
    public var publications: [TopicFilter] { ["hbs/inference/+", "hbs/alerts/+"] }

    public mutating func handle(_ event: ComponentEvent<InferenceTimer>, now: Instant) -> [ComponentAction<InferenceTimer>] {
        switch event {
        case .message(_, .reading(let reading)):
            return handle(reading, now: now).map { action in
                switch action {
                case .publish(let topic, let message): .publish(topic, message)
                }
            }
        case .command(.installModel(let device, let package)):
            let previous = detector(of: device)
            let successor: PackageDetector
            if let previous = previous as? PackageDetector {
                successor = PackageDetector(package: package, continuing: previous)
            } else {
                successor = PackageDetector(package: package)
            }
            replaceDetector(for: device, with: successor)
            return [.record(.modelChange(device: device, from: previous?.model ?? "none", to: package.manifest.identifier))]
        case .start, .message, .timer, .completion, .input, .command(.revokeKit):
            return []
        }
    }
}
