
/// What the hub's enrolment record says of one monitoring kit's certificate.
///
/// The local broker checks a kit's certificate once, at its TLS handshake; a connection
/// made before a revocation or an expiry stays open until the broker drops it. So the kit
/// bridge holds these facts too and refuses, message by message, what a revoked or expired
/// kit still manages to send, and warns ahead of an expiry so a kit is re-enrolled before
/// it is shut out.
public struct KitCertificate: Equatable, Sendable {
    public var device: DeviceID
    /// The certificate's serial number (hex, as `openssl` prints it).
    public var serial: String
    public var notAfter: Instant
    /// When the hub revoked it, if it has.
    public var revokedAt: Instant?

    public init(device: DeviceID, serial: String, notAfter: Instant, revokedAt: Instant? = nil) {
        self.device = device
        self.serial = serial
        self.notAfter = notAfter
        self.revokedAt = revokedAt
    }

    /// How long before its expiry a kit's certificate is reported (`degraded`), unless the
    /// configuration says otherwise: two weeks leaves room to re-enrol a kit by hand.
    public static let warningDefault: Duration = .seconds(14 * 86_400)
    /// Whether `text` is a certificate serial as `openssl` writes them: 1…64 hex digits in
    /// capitals (what the authority's files, the control op and the CRL all take).
    public static func isSerial(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) }
    }

    /// What a configuration may say for the warning.
    public static let warningRange: ClosedRange<Duration> = .seconds(60)...Duration.seconds(365 * 86_400)
}
