import HubCore

/// The seam between the inference component and whatever scores a device's telemetry.
///
/// The interim rolling z-score and the ONNX model-package core both sit behind it, so the
/// component's windowing-independent logic (debounce, alerts, model swaps) never changes
/// when the scoring does.
public protocol AnomalyDetector {
    /// `name@version`, carried in every inference result.
    var model: String { get }
    /// The score above which a window counts as anomalous.
    var threshold: Double { get }
    /// Feeds one reading; returns a score once the detector has enough history, else nil.
    mutating func observe(_ reading: Reading) -> Double?
    /// The k-of-n debounce this detector was tuned with, if it brings one (model packages do).
    var debounce: (k: Int, n: Int)? { get }
}

extension AnomalyDetector {
    public var debounce: (k: Int, n: Int)? { nil }
}

/// k-of-n debounce: the condition flips only when k of the last n windows agree.
///
/// A single noisy window must not page anyone, and one calm window in the middle of a
/// failure must not clear an alert.
public struct Debouncer: Sendable {
    public let k: Int
    public let n: Int
    private var history: [Bool]
    private var next = 0
    private var filled = 0
    public private(set) var condition: DeviceCondition = .normal

    /// `condition` carries a device's state over when its detector is replaced.
    public init(k: Int, n: Int, condition: DeviceCondition = .normal) {
        precondition(n >= 1 && (1...n).contains(k), "debounce needs 1 ≤ k ≤ n")
        self.k = k
        self.n = n
        self.condition = condition
        history = Array(repeating: condition == .anomalous, count: n)
        filled = condition == .anomalous ? n : 0
    }

    /// Records one window's verdict; returns the new condition if it changed.
    public mutating func record(anomalous: Bool) -> DeviceCondition? {
        history[next] = anomalous
        next = (next + 1) % n
        filled = min(filled + 1, n)
        let votes = history.reduce(0) { $0 + ($1 ? 1 : 0) }
        let calm = filled - votes
        switch condition {
        case .normal where votes >= k:
            condition = .anomalous
            return condition
        case .anomalous where calm >= k:
            condition = .normal
            return condition
        default:
            return nil
        }
    }
}
