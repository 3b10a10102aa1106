import HubCore
import HubKernel

// Fault model of the hub's local broker for monitoring kits, as a kit meets it (the live
// broker is a real mosquitto with the configuration in docs/config.md, "Kits' broker").
// Healthy, it takes a TLS connection only from a kit whose certificate the hub's kit
// authority signed, that has not expired at the handshake and whose serial is not on the
// revocation list the broker loaded; it then lets the kit publish only on its own topic
// (`hbs/kits/<the certificate's device>/telemetry`) and hands each message to the hub 2 ms
// later. A refused handshake or a denied publish is counted and logged (a line per kit
// when its reason changes), and the message is lost: the kit's firmware tries again, with
// a new connection, at its next interval. A connection, once open, is not checked again:
// a certificate that expires or is revoked under it keeps it open until the broker drops
// its connections — at a revocation (the hub restarts its broker with the new list) and
// at a power loss. What a kit presents is its own part's fault (`SimMQTTKit`): another
// kit's id, an expired certificate, its revoked previous certificate, a foreign CA's.

/// The hub's local MQTT broker for its kits, simulated at the level that decides identity:
/// TLS handshakes against the kit authority and its revocation list, and the per-kit ACL.
public final class SimKitBroker {
    /// Who signed a certificate a kit presents.
    public enum Issuer: Equatable, Sendable {
        /// The hub's own kit authority.
        case hubAuthority
        /// Some other certificate authority (a kit from another home, a forger).
        case foreign
    }

    /// A certificate as a kit presents it at its handshake.
    public struct Presented: Equatable, Sendable {
        public var certificate: KitCertificate
        public var issuer: Issuer

        public init(certificate: KitCertificate, issuer: Issuer) {
            self.certificate = certificate
            self.issuer = issuer
        }
    }

    /// Why a handshake or a publish was refused (the counters' keys, in this order).
    public enum Refusal: String, CaseIterable, Sendable {
        case noCertificate = "no certificate"
        case unknownAuthority = "certificate verify failed: unknown CA"
        case expired = "certificate verify failed: certificate has expired"
        case revoked = "certificate verify failed: certificate revoked"
        case deniedPublish = "publish denied: not the kit's own topic"
    }

    /// The revocation list the broker has loaded: serials, oldest first.
    public private(set) var revokedSerials: [String]
    /// Refusals per reason.
    public private(set) var refused = ReasonCounts<Refusal>()
    /// Messages handed to the hub.
    public private(set) var delivered = 0
    /// Where the hub's kit listener receives (the hub's shell).
    public weak var completions: (any CompletionSink)?
    /// Whether kits must present a certificate (false: a plaintext broker, the hub before kit identity).
    public let requiresCertificates: Bool
    private let history: any HistorySink
    /// The serial of each open connection's certificate, by kit id.
    private var sessions: [DeviceID: Presented] = [:]
    private var lastLogged: [DeviceID: Refusal] = [:]

    public init(requiresCertificates: Bool, revokedSerials: [String], history: any HistorySink) {
        self.requiresCertificates = requiresCertificates
        self.revokedSerials = revokedSerials
        self.history = history
    }

    public func refusedCount(_ refusal: Refusal) -> Int { refused[refusal] }

    /// A message from kit `kit` presenting `presented` (nil: no certificate) on `topic`:
    /// opens a connection first if the kit has none.
    public func publish(from kit: DeviceID, presenting presented: Presented?, topic: String, payload: [UInt8], now: Instant) {
        if requiresCertificates {
            if sessions[kit] == nil {
                if let refusal = handshake(presented, now: now) {
                    refuse(kit, refusal, now: now)
                    return
                }
                sessions[kit] = presented
                if lastLogged.removeValue(forKey: kit) != nil {
                    history.record(.componentError(component: "local-broker", error: "\(kit): connected again with certificate \(presented!.certificate.serial)"), at: now)
                }
            }
            let subject = sessions[kit]!.certificate.device
            guard KitBridgeComponent.kitID(in: topic) == subject.rawValue else {
                refuse(kit, .deniedPublish, now: now)
                return
            }
        }
        delivered += 1
        completions?.complete(.kitMessage(topic: topic, payload: payload), at: now + .milliseconds(2))
    }

    /// The TLS handshake's verdict on `presented` at `now` (nil: accepted).
    private func handshake(_ presented: Presented?, now: Instant) -> Refusal? {
        guard let presented else { return .noCertificate }
        guard presented.issuer == .hubAuthority else { return .unknownAuthority }
        guard now < presented.certificate.notAfter else { return .expired }
        guard !revokedSerials.contains(presented.certificate.serial) else { return .revoked }
        return nil
    }

    private func refuse(_ kit: DeviceID, _ refusal: Refusal, now: Instant) {
        let count = refused.add(refusal)
        guard lastLogged[kit] != refusal else { return }
        lastLogged[kit] = refusal
        history.record(.componentError(component: "local-broker", error: "\(kit): refused (\(refusal.rawValue)); \(count) in all"), at: now)
    }

    /// The hub revoked `serial` (`hub kit revoke`): it restarts its broker with the new
    /// list, so every connection drops and each kit must pass a handshake again.
    public func revoke(_ serial: String, now: Instant) {
        if !revokedSerials.contains(serial) { revokedSerials.append(serial) }
        restart()
    }

    /// The broker went down (a restart, the hub's power): every connection is gone.
    public func restart() {
        sessions.removeAll()
    }

    /// Kit `kit` opens a new connection with its next message (it changed what it presents).
    public func disconnect(_ kit: DeviceID) {
        sessions[kit] = nil
    }
}
