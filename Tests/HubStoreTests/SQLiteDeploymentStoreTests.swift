import Foundation
import GRDB
import HubCore
import HubStore
import Testing

@Suite("The deployment store on SQLite")
struct SQLiteDeploymentStoreTests {
    func scratch() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-deployments-\(UUID().uuidString).sqlite").path
    }

    func record(_ digest: String) -> DeploymentRecord {
        var record = DeploymentRecord(good: DeployedConfiguration(deploymentID: "d1", components: [
            .init(name: "inference", version: SemanticVersion(1, 1, 0), recipe: digest, configuration: .object(["k": .number(4)]))], models: []))
        record.remember("d1", .committed, "healthy for 10m")
        return record
    }

    @Test("a record and its artifacts read back after the store is reopened; the file is the owner's only")
    func durable() throws {
        let path = scratch()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let bytes = Array("name: inference\n".utf8)
        let digest = SHA256.hex(bytes)
        do {
            let store = try SQLiteDeploymentStore(path: path)
            #expect(try store.load() == nil)
            try store.keep(artifact: bytes, sha256: digest)
            try store.save(record(digest), keeping: [])
        }
        let reopened = try SQLiteDeploymentStore(path: path)
        #expect(try reopened.load() == record(digest))
        #expect(try reopened.artifact(digest) == bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("saving drops artifacts no record or attempt names any more")
    func prunes() throws {
        let store = try SQLiteDeploymentStore(path: nil)
        let kept = Array("kept".utf8), dropped = Array("dropped".utf8)
        try store.keep(artifact: kept, sha256: SHA256.hex(kept))
        try store.keep(artifact: dropped, sha256: SHA256.hex(dropped))
        try store.save(record(SHA256.hex(kept)), keeping: [])
        #expect(try store.artifact(SHA256.hex(kept)) == kept)
        #expect(try store.artifact(SHA256.hex(dropped)) == nil)
    }

    @Test("a damaged artifact or an unreadable record is reported, never used")
    func damage() throws {
        let path = scratch()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let bytes = Array("model".utf8)
        let digest = SHA256.hex(bytes)
        do {
            let store = try SQLiteDeploymentStore(path: path)
            try store.keep(artifact: bytes, sha256: digest)
            try store.save(record(digest), keeping: [])
        }
        let database = try DatabaseQueue(path: path)
        try database.write { db in
            try db.execute(sql: "UPDATE deployment_artifact SET bytes = ? WHERE sha256 = ?", arguments: [Data("mode!".utf8), digest])
            try db.execute(sql: "UPDATE deployment_record SET json = ?", arguments: [Data("{\"version\": 2}".utf8)])
        }
        try database.close()
        let store = try SQLiteDeploymentStore(path: path)
        #expect(throws: DeploymentStoreError.self) { try store.artifact(digest) }
        do {
            _ = try store.load()
            Issue.record("an unreadable record was loaded")
        } catch {
            #expect(error.description.contains("the deployment record is unreadable"))
        }
    }

    @Test("a path where no database can be made is an error naming it")
    func unusable() {
        #expect(throws: DeploymentStoreError.self) { try SQLiteDeploymentStore(path: "/nonexistent-dir/deployments.sqlite") }
    }
}
