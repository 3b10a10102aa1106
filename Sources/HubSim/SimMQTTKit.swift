import HubCore
import HubDrivers
import HubKernel

// Fault model of a simulated monitoring kit on the home network (`kit.<device>.<kind>`,
// `SimMQTTKit.faultKinds`). Healthy, the kit's firmware polls its own simulated Sense HAT
// chips with the production drivers every `interval`, builds the Reading JSON and
// publishes it to the hub's local broker, arriving 2 ms later. Faults:
// - `silent`: it publishes nothing (unplugged, off the Wi-Fi).
// - `flood`: every interval it also sends `count` more valid-looking readings, 1 ms apart.
// - `malformed`: with chance `p` a message is replaced by one of a fixed catalogue of
//   hostile payloads (`hostilePayloads`: truncated, binary, wrong types, unknown fields,
//   another kit's id, oversized, deeply nested, ...), drawn from the kit's own stream.
// - `duplicate`: every message is published twice.
// - `clock-skew`: its timestamps run `offset` ahead of (or behind) the hub's clock.
// Identity faults (what it presents to the kits' broker, `SimKitBroker`; a changed
// certificate means a new connection, so the kit reconnects as each starts and ends):
// - `impersonate`: its readings claim the hub's first other device's id (on its own topic:
//   the broker lets no kit publish on another's).
// - `foreign-ca`: it presents a certificate another authority signed.
// - `expired-certificate`: it presents its certificate as it would be a day past expiry.
// - `revoked-certificate`: it presents its previous certificate, revoked when it was
//   enrolled again (the serial is on the broker's list from the start).
// What the drivers read (chip and bus faults on this kit) applies as on the hub's own HAT.

/// A monitoring kit that publishes over MQTT instead of being polled by the hub: the
/// product's kits on the home network, simulated down to their chips' registers.
public final class SimMQTTKit: FaultApplying {
    public let kit: SimKit
    public let interval: Duration
    /// Messages published (faults included).
    public private(set) var published = 0
    private let drivers: [any SensorDriver]
    private var initialised: [Bool]
    private var random: SeededRandom
    private var json = JSONWriter(capacity: 256)
    /// Where messages go: the hub's shell, as the local broker delivers them (a live run:
    /// a publisher on the real local broker).
    public weak var completions: (any CompletionSink)?

    private var silent = false
    private var floodCount = 0
    private var malformedChance = 0.0
    private var duplicating = false
    private var skew: Duration = .zero
    /// The kits' broker, when the hub's kits connect with certificates (else `completions` directly).
    public weak var broker: SimKitBroker?
    /// The certificate the hub enrolled this kit with, and its revoked predecessor's serial.
    public let enrolled: KitCertificate?
    public let previousSerial: String?
    /// Whom `impersonate` claims to be.
    public let neighbour: DeviceID
    private var impersonating = false
    private var presenting: KitFault?

    init(kit: SimKit, interval: Duration, verifyReads: Bool, random: SeededRandom,
         enrolled: KitCertificate? = nil, previousSerial: String? = nil, neighbour: DeviceID) {
        self.kit = kit
        self.interval = interval
        self.enrolled = enrolled
        self.previousSerial = previousSerial
        self.neighbour = neighbour
        drivers = kit.drivers(verifyReads: verifyReads)
        initialised = Array(repeating: false, count: drivers.count)
        self.random = random
    }

    public var topic: String { KitBridgeComponent.topic(kit.device.id) }

    /// One turn of the firmware at `now`: read the chips, publish.
    public func poll(now: Instant) {
        guard !silent else { return }
        var values = ChannelValues()
        for (index, driver) in drivers.enumerated() {
            do throws(DriverError) {
                if !initialised[index] {
                    _ = try driver.initialise()
                    initialised[index] = true
                }
                if let sample = try driver.sample() {
                    for (channel, value) in sample where kit.monitoring.channels.contains(channel) && values[channel] == nil {
                        values[channel] = value
                    }
                }
            } catch {
                initialised[index] = false  // the firmware starts the chip again next turn
            }
        }
        guard !values.isEmpty else { return }
        let claimed = impersonating ? neighbour : kit.device.id
        publish(Reading(timestamp: now + skew, device: claimed, values: values), now: now)
        for extra in 0..<floodCount {
            publish(Reading(timestamp: now + skew + .milliseconds(Int64(extra + 1)), device: claimed, values: values), now: now)
        }
    }

    /// What the kit presents at a handshake now (nil: no certificate).
    public func presented(now: Instant) -> SimKitBroker.Presented? {
        guard let enrolled else { return nil }
        switch presenting {
        case .foreignCA?:
            return .init(certificate: KitCertificate(device: kit.device.id, serial: "F0" + enrolled.serial, notAfter: enrolled.notAfter), issuer: .foreign)
        case .expiredCertificate?:
            return .init(certificate: KitCertificate(device: kit.device.id, serial: enrolled.serial, notAfter: min(enrolled.notAfter, now - .seconds(86_400))),
                         issuer: .hubAuthority)
        case .revokedCertificate?:
            return .init(certificate: KitCertificate(device: kit.device.id, serial: previousSerial ?? enrolled.serial, notAfter: enrolled.notAfter),
                         issuer: .hubAuthority)
        default:
            return .init(certificate: enrolled, issuer: .hubAuthority)
        }
    }

    private func publish(_ reading: Reading, now: Instant) {
        var payload: [UInt8]
        if malformedChance > 0, random.chance(malformedChance) {
            payload = Self.hostilePayloads[random.nextInt(in: 0...(Self.hostilePayloads.count - 1))]
        } else {
            json.removeAll()
            reading.write(to: &json)
            payload = json.bytes
        }
        for _ in 0..<(duplicating ? 2 : 1) {
            published += 1
            if let broker {
                broker.publish(from: kit.device.id, presenting: presented(now: now), topic: topic, payload: payload, now: now)
            } else {
                completions?.complete(.kitMessage(topic: topic, payload: payload), at: now + .milliseconds(2))
            }
        }
    }

    public func apply(_ fault: SimFault, active: Bool, now: Instant) {
        guard case .kit(_, let kitFault) = fault else { preconditionFailure("\(fault.name) is not a kit fault") }
        switch kitFault {
        case .silent: silent = active
        case .flood(let count): floodCount = active ? count : 0
        case .malformed(let chance): malformedChance = active ? chance : 0
        case .duplicate: duplicating = active
        case .clockSkew(let offset): skew = active ? offset : .zero
        case .impersonate: impersonating = active
        case .foreignCA, .expiredCertificate, .revokedCertificate:
            presenting = active ? kitFault : nil
            broker?.disconnect(kit.device.id)
        }
    }

    /// What a hostile or broken home network sends (every one must be rejected, none may harm the hub).
    public static let hostilePayloads: [[UInt8]] = [
        Array(#"{"timestamp": 1768435200.0, "device_id": "#.utf8),                                   // truncated
        [0x00, 0xFF, 0xFE, 0x7B, 0x22, 0x80, 0x81],                                                  // binary
        Array(#"[1, 2, 3]"#.utf8),                                                                   // not an object
        Array(#"{"timestamp": "noon", "device_id": "x", "temperature": 21}"#.utf8),                  // wrong type
        Array(#"{"timestamp": 1768435200.0, "device_id": "x", "temperature": 1e999}"#.utf8),         // not finite
        Array(#"{"timestamp": 1768435200.0, "device_id": "x", "temperature": 21, "rm -rf": "/"}"#.utf8),  // unknown field
        Array(#"{"device_id": "x", "temperature": 21}"#.utf8),                                       // no timestamp
        Array(#"{"timestamp": 1768435200.0, "device_id": "../../etc/passwd", "temperature": 21}"#.utf8),  // hostile id
        Array(#"{"timestamp": 1768435200.0, "device_id": "x", "temperature": -459.67}"#.utf8),       // below absolute zero
        [UInt8](repeating: UInt8(ascii: "["), count: 3_000),                                          // deep nesting
        Array(("{\"timestamp\": 1768435200.0, \"device_id\": \"x\", \"note\": \"" + String(repeating: "A", count: 70_000) + "\"}").utf8),  // oversized
        Array("{\"timestamp\": 1768435200.0, \"device_id\": \"x\u{0}\", \"temperature\": 21}".utf8),  // control character
        [],                                                                                          // empty
    ]

    /// The kit fault kinds (see the fault model at the top of this file).
    public static let faultKinds: [FaultKind] = [
        FaultKind(layer: "kit", name: "silent", summary: "the kit publishes nothing", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .silent)
        },
        FaultKind(layer: "kit", name: "flood",
                  parameters: [FaultParameter("count", .count(1...1_000), default: "20", summary: "extra readings per interval")],
                  summary: "the kit sends many more readings than its interval allows", port: "SimMQTTKit") {
            .kit(device: $0.device, .flood(count: $1.count("count")))
        },
        FaultKind(layer: "kit", name: "malformed",
                  parameters: [FaultParameter("p", .probability, default: "1", summary: "chance per message")],
                  summary: "messages replaced by hostile or broken payloads", port: "SimMQTTKit") {
            .kit(device: $0.device, .malformed(chance: $1.number("p")))
        },
        FaultKind(layer: "kit", name: "duplicate", summary: "every message arrives twice", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .duplicate)
        },
        FaultKind(layer: "kit", name: "clock-skew",
                  parameters: [FaultParameter("offset", .duration(.seconds(1)...Duration.seconds(30 * 86_400)), default: "1h",
                                              summary: "how far the kit's clock is off"),
                               FaultParameter("direction", .choice(["ahead", "behind"]), default: "ahead", summary: "which way")],
                  summary: "the kit's timestamps are off by `offset`", port: "SimMQTTKit") {
            .kit(device: $0.device, .clockSkew(offset: $1.text("direction") == "behind" ? .zero - $1.duration("offset") : $1.duration("offset")))
        },
        FaultKind(layer: "kit", name: "impersonate", summary: "its readings claim another device's id (the hub's first other device)", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .impersonate)
        },
        FaultKind(layer: "kit", name: "foreign-ca", summary: "it presents a certificate another authority signed", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .foreignCA)
        },
        FaultKind(layer: "kit", name: "expired-certificate", summary: "it presents its certificate a day past expiry", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .expiredCertificate)
        },
        FaultKind(layer: "kit", name: "revoked-certificate", summary: "it presents its previous certificate, which the hub revoked", port: "SimMQTTKit") { target, _ in
            .kit(device: target.device, .revokedCertificate)
        },
    ]
}

/// `kit.<device>.<kind>`: what a monitoring kit on the home network does wrong (see `SimMQTTKit`).
public enum KitFault: Equatable, Sendable {
    case silent
    case flood(count: Int)
    case malformed(chance: Double)
    case duplicate
    case clockSkew(offset: Duration)
    case impersonate
    case foreignCA
    case expiredCertificate
    case revokedCertificate

    public var kind: String {
        switch self {
        case .silent: "silent"
        case .flood: "flood"
        case .malformed: "malformed"
        case .duplicate: "duplicate"
        case .clockSkew: "clock-skew"
        case .impersonate: "impersonate"
        case .foreignCA: "foreign-ca"
        case .expiredCertificate: "expired-certificate"
        case .revokedCertificate: "revoked-certificate"
        }
    }
}
