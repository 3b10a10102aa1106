import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive
import HubSim
import HubStore
import Testing

/// Deployments against real parts: the built `hubrig sim run` (the same node and agent as
/// `hub run`) connected to a real mosquitto; the deployment is published with
/// `mosquitto_pub`, its statuses read with `mosquitto_sub`, its artifacts fetched from a
/// directory, its record kept in a SQLite file.
@Suite("Deployments end to end (built binary, real mosquitto)", .serialized)
struct DeploymentEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Puts the furnace package (republished as 2.3.0) and an inference 1.1.0 recipe in
    /// `bucket` as the simulated cloud publishes them; returns the document.
    static func publish(into bucket: String, id: String, damage: Bool = false) throws -> [UInt8] {
        let cloud = SimDeployments()
        let files = try ModelPackageFiles.read(directory: root + "/fixtures/models/furnace")
        let document = cloud.publish(DeploymentSpec(id: id, components: [("inference", SemanticVersion(1, 1, 0))],
                                                    models: [("hvac", SemanticVersion(2, 3, 0), files)], healthWindow: .seconds(3)))
        for (path, bytes) in cloud.published {
            let file = bucket + "/" + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var written = bytes
            if damage, path.hasSuffix("model.onnx") { written[written.count / 2] ^= 0x01 }
            try Data(written).write(to: URL(fileURLWithPath: file))
        }
        return document
    }

    @Test("published with mosquitto_pub, applied and committed; a damaged artifact is rejected; the record is on disk, owner-only")
    func endToEnd() throws {
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let broker = try LocalMosquitto(directory: directory)
        defer { broker.stop() }
        let statuses = directory + "/statuses.txt"
        let sink = try ChildProcess("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "hbs/hbshub001/deployments/status", "-q", "1"],
                                    output: statuses)
        defer { sink.terminate() }
        let bucket = directory + "/bucket"
        let state = directory + "/state"
        let hub = try ChildProcess(hubrig, ["sim", "run", "--device", "hvac:furnace", "--models", Self.root + "/fixtures/models", "--duration", "60s",
                                            "--cloud-host", "127.0.0.1", "--cloud-port", String(broker.port), "--state-dir", state,
                                            "--artifacts", bucket, "--event-log", directory + "/events.jsonl"],
                                   output: directory + "/hub.log")
        defer { hub.terminate() }
        // The first is retained, so it reaches the hub whenever its client subscribes.
        func deploy(_ document: [UInt8], name: String, retained: Bool = false) throws {
            try Data(document).write(to: URL(fileURLWithPath: directory + "/" + name))
            let publisher = try ChildProcess("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", String(broker.port), "-q", "1",
                                                                         "-t", "hbs/hbshub001/deployments", "-f", directory + "/" + name]
                                                                        + (retained ? ["-r"] : []),
                                             output: directory + "/pub.log")
            #expect(publisher.wait(seconds: 10) == 0)
        }
        func statusLines() -> [String] { ((try? String(contentsOfFile: statuses, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        try deploy(try Self.publish(into: bucket, id: "good-1"), name: "good.json", retained: true)
        #expect(IPCComponentProcessTests.waitFor(20) { statusLines().contains { $0.contains("\"good-1\"") && $0.contains("\"committed\"") } },
                "statuses: \(statusLines())")
        try deploy(try Self.publish(into: directory + "/bucket", id: "damaged-2", damage: true), name: "damaged.json")
        #expect(IPCComponentProcessTests.waitFor(20) { statusLines().contains { $0.contains("\"damaged-2\"") && $0.contains("\"rejected\"") } },
                "statuses: \(statusLines())")
        #expect(statusLines().contains { $0.contains("\"damaged-2\"") && $0.contains("SHA-256") })
        try deploy(Array("not json at all".utf8), name: "garbage.json")
        #expect(IPCComponentProcessTests.waitFor(10) { statusLines().contains { $0.contains("\"unknown\"") && $0.contains("not valid") } })
        hub.terminate()
        #expect(hub.wait(seconds: 10) != nil)
        let record = try SQLiteDeploymentStore(path: state + "/deployments.sqlite").load()
        #expect(record?.good.deploymentID == "good-1")
        #expect(record?.good.model(of: "hvac")?.identifier == "furnace-ae@2.3.0")
        let mode = try FileManager.default.attributesOfItem(atPath: state + "/deployments.sqlite")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
