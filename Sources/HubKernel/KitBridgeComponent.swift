import HubCore

/// The kit bridge's timers.
public enum KitBridgeTimer: Equatable, Sendable {
    /// Look whether kit `index` has gone silent.
    case silenceCheck(Int)
}

/// Takes telemetry from monitoring kits over the home network's MQTT — the product's kits
/// publish each reading to the hub's local broker — and puts what it accepts on the bus
/// as the hub's own sensor readings.
///
/// Topic `hbs/kits/<kit-id>/telemetry`, payload the Reading JSON (docs/kits.md). A home
/// network sends anything, so every message is checked, in this order, and the first
/// failed check rejects it — counted per reason and logged, never a crash: size (at most
/// `payloadBytesMax`), a known kit in the topic, valid Reading JSON (unknown fields,
/// wrong types and non-finite numbers refused), `device_id` equal to the topic's kit,
/// only channels its kind's kit measures and each within its sensor's range, a timestamp
/// within `clockSkewMax` of the hub's clock, newer than the kit's last accepted one (an
/// equal one is a duplicate), and the kit's rate: a token bucket of `burstMax` readings
/// refilled at twice the kit's interval rate, so a flood is cut off and a kit's normal
/// jitter is not.
///
/// A kit that sent nothing accepted for three of its intervals is reported `failed` on
/// `hbs/health/kit-bridge` (the uplink tells the cloud at once: the product's alarm for a
/// kit that lost its hub) and `ok` again with its next accepted reading.
public struct KitBridgeComponent {
    /// One monitoring kit the hub takes readings from.
    public struct Kit: Equatable, Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        public var interval: Duration

        public init(id: DeviceID, kind: ApplianceKind, interval: Duration) {
            precondition(interval > .zero)
            self.id = id
            self.kind = kind
            self.interval = interval
        }
    }

    /// Why a message was rejected (the counters' keys, in this order).
    public enum Rejection: String, CaseIterable, Sendable {
        case oversized = "oversized"
        case unknownTopic = "unknown topic"
        case malformed = "malformed"
        case wrongDevice = "wrong device"
        case implausibleValue = "implausible value"
        case implausibleTimestamp = "implausible timestamp"
        case duplicate = "duplicate"
        case outOfOrder = "out of order"
        case rateLimited = "rate limited"
    }

    public let kits: [Kit]
    public let payloadBytesMax = 4_096
    public let clockSkewMax = Duration.seconds(300)
    public let burstMax = 5.0
    /// Rejected messages, per reason (in `Rejection.allCases` order).
    public private(set) var rejected: [Int] = Array(repeating: 0, count: Rejection.allCases.count)
    public private(set) var accepted = 0
    /// Rejections logged per kit and reason in the current minute, so a flood is counted
    /// in full but logged a few lines a minute.
    private var logged: [[Int]]
    private var logMinute: Int64 = -1
    private let logPerMinuteMax = 3
    private var lastTimestamp: [Instant?]
    private var lastAccepted: [Instant]
    private var tokens: [Double]
    private var tokensAt: [Instant]
    private var silent: [Bool]

    public init(kits: [Kit]) {
        precondition(Set(kits.map(\.id)).count == kits.count, "kit ids are unique")
        self.kits = kits
        logged = Array(repeating: Array(repeating: 0, count: Rejection.allCases.count), count: kits.count)
        lastTimestamp = Array(repeating: nil, count: kits.count)
        lastAccepted = Array(repeating: Instant(nanosecondsSinceEpoch: 0), count: kits.count)
        tokens = Array(repeating: 5, count: kits.count)
        tokensAt = Array(repeating: Instant(nanosecondsSinceEpoch: 0), count: kits.count)
        silent = Array(repeating: false, count: kits.count)
    }

    public func rejectedCount(_ reason: Rejection) -> Int { rejected[Rejection.allCases.firstIndex(of: reason)!] }

    /// The topic kit `id` publishes on.
    public static func topic(_ id: DeviceID) -> String { "hbs/kits/\(id)/telemetry" }

    /// The sensor range a kit's channel must lie in (the chips' own measuring ranges).
    static func range(of channel: Channel) -> ClosedRange<Double> {
        switch channel {
        case .temperature: -40...120  // HTS221, LPS25H
        case .humidity: 0...100
        case .pressure: 260...1260  // LPS25H
        case .vibration: 0...16  // LSM9DS1 at its widest full scale, g
        default: -1e6...1e6
        }
    }

    public typealias Action = ComponentAction<KitBridgeTimer>

    mutating func start(now: Instant) -> [Action] {
        kits.indices.map { index in
            lastAccepted[index] = now
            tokensAt[index] = now
            return .schedule(.silenceCheck(index), at: now + kits[index].interval)
        }
    }

    /// One message from the local broker.
    public mutating func receive(topic: String, payload: [UInt8], now: Instant) -> [Action] {
        let kitID = Self.kitID(in: topic)
        let index = kitID.flatMap { id in kits.firstIndex { $0.id.rawValue == id } }
        guard payload.count <= payloadBytesMax else { return reject(.oversized, index, "\(payload.count) bytes (at most \(payloadBytesMax))", now) }
        guard let index else {
            return reject(.unknownTopic, nil, "\(String(topic.prefix(80)).debugDescription) is not hbs/kits/<a configured kit>/telemetry", now)
        }
        let kit = kits[index]
        let reading: Reading
        do throws(PayloadError) { reading = try Reading.decode(payload) } catch { return reject(.malformed, index, error.description, now) }
        guard reading.device == kit.id else {
            return reject(.wrongDevice, index, "device_id \(reading.device) on \(kit.id)'s topic", now)
        }
        let measured = MonitoringKit.for(kit.kind).channels
        for (channel, value) in reading.values {
            guard measured.contains(channel) else {
                return reject(.implausibleValue, index, "a \(kit.kind.rawValue) kit does not measure \(channel.key)", now)
            }
            guard Self.range(of: channel).contains(value) else {
                return reject(.implausibleValue, index, "\(channel.key) \(value) outside \(Self.range(of: channel))", now)
            }
        }
        let skew = reading.timestamp - now
        guard skew <= clockSkewMax, skew >= .zero - clockSkewMax else {
            return reject(.implausibleTimestamp, index, "timestamp \(DurationText.format(skew > .zero ? skew : .zero - skew)) \(skew > .zero ? "ahead of" : "behind") the hub's clock", now)
        }
        if let last = lastTimestamp[index] {
            if reading.timestamp == last { return reject(.duplicate, index, "timestamp \(JSONText.timestamp(last, decimals: 4)) again", now) }
            if reading.timestamp < last { return reject(.outOfOrder, index, "older than the last accepted reading", now) }
        }
        // Token bucket: refills at twice the kit's rate, holds `burstMax`.
        let refill = 2 * (now - tokensAt[index]).secondsValue / kit.interval.secondsValue
        tokens[index] = min(burstMax, tokens[index] + refill)
        tokensAt[index] = now
        guard tokens[index] >= 1 else { return reject(.rateLimited, index, "more than twice its \(DurationText.format(kit.interval)) rate", now) }
        tokens[index] -= 1
        accepted += 1
        lastTimestamp[index] = reading.timestamp
        lastAccepted[index] = now
        var actions: [Action] = [.publish(.sensorReading(kit.id), .reading(reading))]
        if silent[index] {
            silent[index] = false
            actions.append(health(index, .ok, "kit \(kit.id) is sending again", now))
        }
        return actions
    }

    mutating func silenceCheck(_ index: Int, now: Instant) -> [Action] {
        let kit = kits[index]
        var actions: [Action] = [.schedule(.silenceCheck(index), at: now + kit.interval)]
        if !silent[index], now - lastAccepted[index] >= kit.interval * 3 {
            silent[index] = true
            actions.append(health(index, .failed, "kit \(kit.id) silent for \(DurationText.format(now - lastAccepted[index])) (3 of its \(DurationText.format(kit.interval)) intervals)", now))
        }
        return actions
    }

    private func health(_ index: Int, _ state: HealthState, _ detail: String, _ now: Instant) -> Action {
        .publish(.health("kit-bridge"), .health(HealthReport(timestamp: now, component: "kit-bridge", device: kits[index].id, state: state, detail: detail)))
    }

    private mutating func reject(_ reason: Rejection, _ index: Int?, _ detail: String, _ now: Instant) -> [Action] {
        let reasonIndex = Rejection.allCases.firstIndex(of: reason)!
        rejected[reasonIndex] += 1
        let minute = now.nanosecondsSinceEpoch / 60_000_000_000
        if minute != logMinute {
            logMinute = minute
            for kit in logged.indices { logged[kit] = Array(repeating: 0, count: Rejection.allCases.count) }
        }
        let who = index.map { kits[$0].id.rawValue } ?? "unknown kit"
        if let index {
            logged[index][reasonIndex] += 1
            guard logged[index][reasonIndex] <= logPerMinuteMax else { return [] }
        }
        return [.record(.componentError(component: "kit-bridge", error: "\(who): rejected (\(reason.rawValue)): \(detail); \(rejected[reasonIndex]) \(reason.rawValue) in all"))]
    }

    /// `<id>` of `hbs/kits/<id>/telemetry`.
    static func kitID(in topic: String) -> String? {
        let parts = Topic.levels(of: topic)
        guard parts.count == 4, parts[0] == "hbs", parts[1] == "kits", parts[3] == "telemetry", !parts[2].isEmpty else { return nil }
        return String(parts[2])
    }
}

extension KitBridgeComponent: HubComponent {
    public var name: String { "kit-bridge" }
    public var subscriptions: [TopicFilter] { [] }
    public var publications: [TopicFilter] { ["dt/local/sensor/+", "hbs/health/kit-bridge"] }

    public mutating func handle(_ event: ComponentEvent<KitBridgeTimer>, now: Instant) -> [Action] {
        switch event {
        case .start: start(now: now)
        case .timer(.silenceCheck(let index)): silenceCheck(index, now: now)
        case .completion(.kitMessage(let topic, let payload)): receive(topic: topic, payload: payload, now: now)
        case .message, .completion, .input, .command: []
        }
    }
}
