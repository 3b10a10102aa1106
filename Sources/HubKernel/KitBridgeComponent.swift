import HubCore

/// The kit bridge's timers.
public enum KitBridgeTimer: Equatable, Sendable {
    /// Look whether kit `index` has gone silent.
    case silenceCheck(Int)
    /// Look whether a kit's certificate expires soon or has expired.
    case certificateCheck
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
///
/// Identity (docs/kits.md, "Kit identity"): the local broker takes a kit only with a
/// certificate from the hub's kit authority and lets it publish only on its own topic, so
/// the topic's kit is the certificate's. Before the payload is read, a kit whose certificate
/// the hub revoked, or whose certificate has expired, is refused — a connection made before
/// stays open until the broker drops it, and what slips through it must not count. A kit
/// claiming another kit's `device_id` on its own topic is an impersonation: refused, counted
/// and reported `degraded` to the cloud (once an hour per kit, with the count). A revocation
/// is reported `failed`; a certificate is reported `degraded` from `certificateWarning`
/// ahead of its expiry (again each day) and `failed` once expired.
public struct KitBridgeComponent {
    /// One monitoring kit the hub takes readings from.
    public struct Kit: Equatable, Sendable {
        public var id: DeviceID
        public var kind: ApplianceKind
        public var interval: Duration
        /// Its certificate, when the kits' broker takes certificates.
        public var certificate: KitCertificate?

        public init(id: DeviceID, kind: ApplianceKind, interval: Duration, certificate: KitCertificate? = nil) {
            precondition(interval > .zero)
            precondition(certificate.map { $0.device == id } ?? true, "a kit's certificate names the kit")
            self.id = id
            self.kind = kind
            self.interval = interval
            self.certificate = certificate
        }
    }

    /// Why a message was rejected (the counters' keys, in this order).
    public enum Rejection: String, CaseIterable, Sendable {
        case oversized = "oversized"
        case unknownTopic = "unknown topic"
        case revoked = "revoked"
        case certificateExpired = "certificate expired"
        case malformed = "malformed"
        case impersonation = "impersonation"
        case implausibleValue = "implausible value"
        case implausibleTimestamp = "implausible timestamp"
        case duplicate = "duplicate"
        case outOfOrder = "out of order"
        case rateLimited = "rate limited"
    }

    public private(set) var kits: [Kit]
    public let payloadBytesMax = 4_096
    public let clockSkewMax = Duration.seconds(300)
    public let burstMax = 5.0
    /// Rejected messages, per reason.
    public private(set) var rejected = ReasonCounts<Rejection>()
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
    public let certificateWarning: Duration
    /// How often the certificates' expiry is looked at (a warning comes at most this late).
    public static let certificateCheckInterval: Duration = .seconds(3600)
    /// What has been reported of each kit's certificate: when the last expiry warning went,
    /// whether its expiry has been.
    private var warnedAt: [Instant?]
    private var expiredReported: [Bool]
    /// Impersonations per kit, and when the last was reported.
    public private(set) var impersonations: [Int]
    private var impersonationReportedAt: [Instant?]

    public init(kits: [Kit], certificateWarning: Duration = KitCertificate.warningDefault) {
        precondition(Set(kits.map(\.id)).count == kits.count, "kit ids are unique")
        self.kits = kits
        logged = Array(repeating: Array(repeating: 0, count: Rejection.allCases.count), count: kits.count)
        lastTimestamp = Array(repeating: nil, count: kits.count)
        lastAccepted = Array(repeating: Instant(nanosecondsSinceEpoch: 0), count: kits.count)
        tokens = Array(repeating: 5, count: kits.count)
        tokensAt = Array(repeating: Instant(nanosecondsSinceEpoch: 0), count: kits.count)
        silent = Array(repeating: false, count: kits.count)
        self.certificateWarning = certificateWarning
        warnedAt = Array(repeating: nil, count: kits.count)
        expiredReported = Array(repeating: false, count: kits.count)
        impersonations = Array(repeating: 0, count: kits.count)
        impersonationReportedAt = Array(repeating: nil, count: kits.count)
    }

    public func rejectedCount(_ reason: Rejection) -> Int { rejected[reason] }

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
        var actions: [Action] = kits.indices.map { index in
            lastAccepted[index] = now
            tokensAt[index] = now
            return .schedule(.silenceCheck(index), at: now + kits[index].interval)
        }
        if kits.contains(where: { $0.certificate != nil }) {
            actions += certificateCheck(now: now)
            // A revocation from before this start is reported again: the report may have
            // been lost with the process that made it.
            for index in kits.indices where kits[index].certificate?.revokedAt != nil {
                actions.append(revokedReport(index, now))
            }
        }
        return actions
    }

    /// Warns ahead of each certificate's expiry (each day) and reports an expiry once.
    mutating func certificateCheck(now: Instant) -> [Action] {
        var actions: [Action] = [.schedule(.certificateCheck, at: now + Self.certificateCheckInterval)]
        for index in kits.indices {
            guard let certificate = kits[index].certificate, certificate.revokedAt == nil else { continue }
            let left = certificate.notAfter - now
            if left <= .zero {
                guard !expiredReported[index] else { continue }
                expiredReported[index] = true
                actions.append(identityHealth(index, .failed, "kit \(kits[index].id)'s certificate \(certificate.serial) expired at \(JSONText.timestamp(certificate.notAfter, decimals: 0)): refused until it is enrolled again", now))
            } else if left <= certificateWarning, warnedAt[index].map({ now - $0 >= .seconds(86_400) }) ?? true {
                warnedAt[index] = now
                actions.append(identityHealth(index, .degraded, "kit \(kits[index].id)'s certificate \(certificate.serial) expires in \(DurationText.format(left)) (at \(JSONText.timestamp(certificate.notAfter, decimals: 0))): enrol it again", now))
            }
        }
        return actions
    }

    /// The owner revoked `device`'s certificate: refused from now on, reported at once.
    mutating func revoke(_ device: DeviceID, serial: String, now: Instant) -> [Action] {
        guard let index = kits.firstIndex(where: { $0.id == device }) else {
            return [.record(.componentError(component: "kit-bridge", error: "revoke \(device): no such kit"))]
        }
        guard kits[index].certificate?.revokedAt == nil else { return [] }
        kits[index].certificate = KitCertificate(device: device, serial: serial, notAfter: kits[index].certificate?.notAfter ?? now, revokedAt: now)
        return [revokedReport(index, now)]
    }

    private func revokedReport(_ index: Int, _ now: Instant) -> Action {
        let certificate = kits[index].certificate!
        return identityHealth(index, .failed, "kit \(kits[index].id)'s certificate \(certificate.serial) was revoked at \(JSONText.timestamp(certificate.revokedAt!, decimals: 0)): refused", now)
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
        if let certificate = kit.certificate {
            if let revokedAt = certificate.revokedAt {
                return reject(.revoked, index, "certificate \(certificate.serial) revoked \(DurationText.format(now - revokedAt)) ago", now)
            }
            if now >= certificate.notAfter {
                return reject(.certificateExpired, index, "certificate \(certificate.serial) expired \(DurationText.format(now - certificate.notAfter)) ago", now)
            }
        }
        let reading: Reading
        do throws(PayloadError) { reading = try Reading.decode(payload) } catch { return reject(.malformed, index, error.description, now) }
        guard reading.device == kit.id else {
            var actions = reject(.impersonation, index, "device_id \(reading.device) on \(kit.id)'s topic", now)
            impersonations[index] += 1
            if impersonationReportedAt[index].map({ now - $0 >= .seconds(3600) }) ?? true {
                impersonationReportedAt[index] = now
                actions.append(identityHealth(index, .degraded, "kit \(kit.id) claimed to be \(String(reading.device.rawValue.prefix(64)).debugDescription): refused (\(impersonations[index]) impersonation\(impersonations[index] == 1 ? "" : "s") so far)", now))
            }
            return actions
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

    /// A report about a kit's identity: `kit-identity` on the bridge's health topic, so a
    /// kit that is silent and a kit that is shut out read apart in the cloud.
    private func identityHealth(_ index: Int, _ state: HealthState, _ detail: String, _ now: Instant) -> Action {
        .publish(.health("kit-bridge"), .health(HealthReport(timestamp: now, component: "kit-identity", device: kits[index].id, state: state, detail: detail)))
    }

    private mutating func reject(_ reason: Rejection, _ index: Int?, _ detail: String, _ now: Instant) -> [Action] {
        let reasonIndex = ReasonCounts<Rejection>.index(of: reason)
        let count = rejected.add(reason)
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
        return [.record(.componentError(component: "kit-bridge", error: "\(who): rejected (\(reason.rawValue)): \(detail); \(count) \(reason.rawValue) in all"))]
    }

    /// `<id>` of `hbs/kits/<id>/telemetry`.
    public static func kitID(in topic: String) -> String? {
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
        case .timer(.certificateCheck): certificateCheck(now: now)
        case .completion(.kitMessage(let topic, let payload)): receive(topic: topic, payload: payload, now: now)
        case .command(.revokeKit(let device, let serial)): revoke(device, serial: serial, now: now)
        case .message, .completion, .input, .command: []
        }
    }
}
