import Foundation
import GRDB
import HubCore

/// The hub's durable record of its monitoring kits' certificates: who was enrolled, with
/// which serial, valid until when, and whether the owner revoked it.
///
/// The kit authority's files say the same in openssl's terms (its index); this record is
/// what the hub itself reads at start (`HubConfig.kitCertificates`) and what `hub kit list`
/// prints, so neither parses openssl's database. SQLite in WAL mode with
/// `synchronous = FULL`, owner-only like the outbox: an enrolment or revocation that was
/// reported done survives a power cut.
public final class KitEnrolmentStore {
    public let path: String
    private let database: DatabaseQueue

    public init(path: String) throws(KitEnrolmentError) {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.label = "kits"
            configuration.journalMode = .wal
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            if let problem = OwnerOnlyDatabase.create(path) { throw KitEnrolmentError(problem) }
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS kit_certificate (
                        serial TEXT PRIMARY KEY, device TEXT NOT NULL,
                        not_after_ns INTEGER NOT NULL, enrolled_ns INTEGER NOT NULL, revoked_ns INTEGER);
                    """)
            }
            if let problem = OwnerOnlyDatabase.restrictCompanions(of: path) { throw KitEnrolmentError(problem) }
        } catch let error as KitEnrolmentError {
            throw error
        } catch {
            throw KitEnrolmentError("\(path): \(OwnerOnlyDatabase.describe(error))")
        }
    }

    /// Records a new certificate for `certificate.device` (an earlier one stays on record).
    public func enrol(_ certificate: KitCertificate, at now: Instant) throws(KitEnrolmentError) {
        try write { db in
            try db.execute(sql: "INSERT INTO kit_certificate (serial, device, not_after_ns, enrolled_ns, revoked_ns) VALUES (?, ?, ?, ?, NULL)",
                           arguments: [certificate.serial, certificate.device.rawValue, certificate.notAfter.nanosecondsSinceEpoch, now.nanosecondsSinceEpoch])
        }
    }

    /// Marks every unrevoked certificate of `device` revoked at `now`; returns them (empty:
    /// none was in force).
    @discardableResult
    public func revoke(_ device: DeviceID, at now: Instant) throws(KitEnrolmentError) -> [KitCertificate] {
        let current = try certificates().filter { $0.device == device && $0.revokedAt == nil }
        try write { db in
            try db.execute(sql: "UPDATE kit_certificate SET revoked_ns = ? WHERE device = ? AND revoked_ns IS NULL",
                           arguments: [now.nanosecondsSinceEpoch, device.rawValue])
        }
        return current.map { KitCertificate(device: $0.device, serial: $0.serial, notAfter: $0.notAfter, revokedAt: now) }
    }

    /// Every certificate on record, in enrolment order.
    public func certificates() throws(KitEnrolmentError) -> [KitCertificate] {
        let rows: [Row]
        do {
            rows = try database.read { db in
                try Row.fetchAll(db, sql: "SELECT serial, device, not_after_ns, revoked_ns FROM kit_certificate ORDER BY enrolled_ns, serial")
            }
        } catch {
            throw KitEnrolmentError("\(path): \(OwnerOnlyDatabase.describe(error))")
        }
        var result: [KitCertificate] = []
        for row in rows {
            let deviceText: String = row["device"]
            guard let device = try? DeviceID(validating: deviceText) else {
                throw KitEnrolmentError("\(path): a certificate names the device \(deviceText.debugDescription), which is not a device id")
            }
            let revoked: Int64? = row["revoked_ns"]
            result.append(KitCertificate(device: device, serial: row["serial"], notAfter: Instant(nanosecondsSinceEpoch: row["not_after_ns"]),
                                         revokedAt: revoked.map { Instant(nanosecondsSinceEpoch: $0) }))
        }
        return result
    }

    /// Each device's latest certificate (the one the hub checks), in enrolment order.
    public func current() throws(KitEnrolmentError) -> [KitCertificate] {
        let all = try certificates()
        return all.enumerated().filter { index, certificate in !all[(index + 1)...].contains { $0.device == certificate.device } }.map(\.element)
    }

    private func write(_ body: (Database) throws -> Void) throws(KitEnrolmentError) {
        do { try database.write { db in try body(db) } } catch {
            throw KitEnrolmentError("\(path): \(OwnerOnlyDatabase.describe(error))")
        }
    }
}

/// The enrolment record could not be read or written.
public struct KitEnrolmentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
