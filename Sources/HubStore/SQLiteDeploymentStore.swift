import Foundation
import GRDB
import HubCore

/// The deployment record and its artifacts on SQLite: a file in WAL mode beside the outbox
/// for a live hub, an in-memory database in the simulator (which outlives a simulated power
/// loss, as a disk does).
///
/// `save` writes the record and prunes artifacts in one transaction (`synchronous = FULL`),
/// so after a power cut the record is the one before or the one after a step, and every
/// artifact it names is there. Artifacts are keyed by their SHA-256 and checked again when
/// read, so a damaged row is found, not used.
public final class SQLiteDeploymentStore: DeploymentStore {
    public let path: String?
    private let database: DatabaseQueue

    public init(path: String?) throws(DeploymentStoreError) {
        self.path = path
        let place = path ?? "in-memory deployment store"
        do {
            var configuration = Configuration()
            configuration.label = "deployments"
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            if let path {
                configuration.journalMode = .wal
                if let problem = OwnerOnlyDatabase.create(path) { throw DeploymentStoreError(problem) }
                database = try DatabaseQueue(path: path, configuration: configuration)
            } else {
                database = try DatabaseQueue(configuration: configuration)
            }
            try database.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS deployment_record (id INTEGER PRIMARY KEY CHECK (id = 1), json BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS deployment_artifact (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
                    """)
            }
            if let path, let problem = OwnerOnlyDatabase.restrictCompanions(of: path) { throw DeploymentStoreError(problem) }
        } catch let error as DeploymentStoreError {
            throw error
        } catch {
            throw DeploymentStoreError("\(place): \(OwnerOnlyDatabase.describe(error))")
        }
    }

    public func load() throws(DeploymentStoreError) -> DeploymentRecord? {
        let bytes: [UInt8]?
        do {
            bytes = try database.read { db in
                try Data.fetchOne(db, sql: "SELECT json FROM deployment_record WHERE id = 1").map { [UInt8]($0) }
            }
        } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): \(OwnerOnlyDatabase.describe(error))")
        }
        guard let bytes else { return nil }
        do { return try DeploymentRecord(json: bytes) } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): the deployment record is unreadable: \(error)")
        }
    }

    public func save(_ record: DeploymentRecord, keeping: [String]) throws(DeploymentStoreError) {
        var kept = record.good.digests + keeping
        if let attempt = record.attempt {
            kept += attempt.document.artifacts.map(\.sha256) + (attempt.target?.digests ?? [])
        }
        let json = Data(record.json)
        do {
            try database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO deployment_record (id, json) VALUES (1, ?)", arguments: [json])
                let stored = try String.fetchAll(db, sql: "SELECT sha256 FROM deployment_artifact")
                for digest in stored where !kept.contains(digest) {
                    try db.execute(sql: "DELETE FROM deployment_artifact WHERE sha256 = ?", arguments: [digest])
                }
            }
        } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): \(OwnerOnlyDatabase.describe(error))")
        }
    }

    /// The database's size (its pages times the page size), artifacts included.
    public func databaseBytes() throws(DeploymentStoreError) -> Int {
        do {
            return try database.read { db in try DatabaseSize.bytes(db) }
        } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): \(OwnerOnlyDatabase.describe(error))")
        }
    }

    public func artifact(_ sha256: String) throws(DeploymentStoreError) -> [UInt8]? {
        let bytes: [UInt8]?
        do {
            bytes = try database.read { db in
                try Data.fetchOne(db, sql: "SELECT bytes FROM deployment_artifact WHERE sha256 = ?", arguments: [sha256]).map { [UInt8]($0) }
            }
        } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): \(OwnerOnlyDatabase.describe(error))")
        }
        if let bytes, SHA256.hex(bytes) != sha256 {
            throw DeploymentStoreError("\(path ?? "deployment store"): the stored artifact \(sha256) is damaged")
        }
        return bytes
    }

    public func keep(artifact bytes: [UInt8], sha256: String) throws(DeploymentStoreError) {
        precondition(SHA256.hex(bytes) == sha256, "an artifact is kept under its own digest")
        do {
            try database.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO deployment_artifact (sha256, bytes) VALUES (?, ?)", arguments: [sha256, Data(bytes)])
            }
        } catch {
            throw DeploymentStoreError("\(path ?? "deployment store"): \(OwnerOnlyDatabase.describe(error))")
        }
    }
}
