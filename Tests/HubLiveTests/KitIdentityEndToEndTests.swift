import Foundation
import HubCore
import HubLive
import Testing

@Suite("hub kit enroll, list and revoke against the real hub running its kits' broker", .serialized)
struct KitIdentityEndToEndTests {
    func hub(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(try I2CShimEndToEndTests.hubExecutable(), arguments, environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
    }

    func reading(_ device: String) -> String {
        let now = Date().timeIntervalSince1970
        return #"{"timestamp": \#(String(format: "%.3f", now)), "device_id": "\#(device)", "temperature": -18.5, "humidity": 60}"#
    }

    func publish(_ directory: String, port: Int, as kit: String) throws -> Int32 {
        let process = try ChildProcess("/usr/bin/mosquitto_pub",
                                       ["-h", "127.0.0.1", "-p", String(port), "--cafile", directory + "/kits/ca.crt",
                                        "--cert", directory + "/kits/\(kit).crt", "--key", directory + "/kits/\(kit).key",
                                        "-t", "hbs/kits/\(kit)/telemetry", "-m", reading(kit), "-q", "1"],
                                       output: directory + "/pub.log")
        return process.wait(seconds: 20) ?? -1
    }

    @Test("an enrolled kit's readings are taken; after hub kit revoke the running hub reports it, refuses it, and its broker refuses the kit's handshake")
    func enrolThenRevoke() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let port = try LocalMosquitto.freePort()
        let config = directory + "/hub.yaml"
        try """
            thing: hbshub001
            devices: [{ id: hvac, kind: furnace }]
            telemetry_batch: off
            state_dir: state
            local_broker: { host: 127.0.0.1, port: \(port), identity: managed, certificate_validity: 30d, certificate_warning: 1d }
            kits: [{ id: freezer, kind: fridge, interval: 1s }]
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let enrolled = try hub(["kit", "enroll", "freezer", "--out", directory + "/kits", "--config", config])
        #expect(enrolled.status == 0, "\(enrolled.output)")
        #expect(enrolled.output.contains("enrolled freezer: certificate 1002"), "\(enrolled.output)")
        var info = stat()
        #expect(stat(directory + "/kits/freezer.key", &info) == 0 && info.st_mode & 0o077 == 0, "the kit's key is owner-only")
        #expect(stat(directory + "/state/kits-ca/private/ca.key", &info) == 0 && info.st_mode & 0o077 == 0, "the authority's key is owner-only")
        let again = try hub(["kit", "enroll", "freezer", "--out", directory + "/kits2", "--config", config])
        #expect(again.status == 2 && again.output.contains("revoke it first"), "\(again.output)")
        let overwrite = try hub(["kit", "enroll", "washer", "--out", directory + "/kits", "--config", config, "--validity", "-3d"])
        #expect(overwrite.status == 2, "\(overwrite.output)")

        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let i2cSocket = directory + "/i2c.sock"
        let server = try startI2CServe(socket: i2cSocket, ["--appliance", "furnace", "--duration", "90s", "--event-log", directory + "/world.jsonl"])
        defer { stopChild(server) }
        let hubProcess = try startShimmedHub(directory: directory, shim: shim, i2cSocket: i2cSocket,
                                             ["--config", config, "--duration", "60s", "--cloud-spool", directory + "/spool.jsonl"])
        defer { stopChild(hubProcess) }
        let socket = directory + "/state/control.sock"
        #expect(eventually(within: .seconds(15)) { FileManager.default.fileExists(atPath: socket) } != nil, "the hub opened its control socket")
        func log() -> String { (try? String(contentsOfFile: directory + "/hub.jsonl", encoding: .utf8)) ?? "" }

        // The hub's listener connects a moment after the broker starts: publish until a reading is taken.
        #expect(try eventually(within: .seconds(15)) {
            _ = try publish(directory, port: port, as: "freezer")
            return log().contains("\"dt/local/sensor/freezer\"")
        } != nil, "an enrolled kit's reading goes on the hub's bus")

        let revoked = try hub(["kit", "revoke", "freezer", "--config", config])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.output.contains("the running hub refuses freezer"), "\(revoked.output)")
        #expect(try publish(directory, port: port, as: "freezer") != 0, "the restarted broker refuses the revoked certificate")
        #expect(log().contains("certificate 1002 was revoked"), "the hub reports it")
        #expect(eventually(within: .seconds(5)) {
            ((try? String(contentsOfFile: directory + "/spool.jsonl", encoding: .utf8)) ?? "").contains("was revoked")
        } != nil, "and the report goes to the cloud")
        let listed = try hub(["kit", "list", "--config", config])
        #expect(listed.status == 0 && listed.output.contains("freezer") && listed.output.contains("revoked"), "\(listed.output)")
        let twice = try hub(["kit", "revoke", "freezer", "--config", config])
        #expect(twice.status == 2 && twice.output.contains("no certificate in force"), "\(twice.output)")
    }

    @Test("hub kit refuses hostile arguments with exit 2 and a message naming what is wrong", arguments: [
        (["kit", "enroll", "../etc", "--out", "OUT"], "invalid id"),
        (["kit", "enroll", "Freezer", "--out", "OUT"], "lowercase"),
        (["kit", "enroll", "freezer"], "--out"),
        (["kit", "enroll", "freezer", "--out", "OUT", "--validity", "99999d"], "--validity"),
        (["kit", "enroll", "freezer", "--out", "OUT", "--validity", "soon"], "--validity"),
        (["kit", "enroll", "freezer", "--out", "OUT", "--config", "STATE/missing.yaml"], "missing.yaml"),
        (["kit", "revoke", "freezer"], "no certificate in force"),
        (["kit", "revoke", "freezer; rm -rf /"], "invalid id"),
        (["kit", "frobnicate"], "frobnicate"),
    ])
    func hostileArguments(arguments: [String], message: String) throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        var given = arguments.map { $0.replacingOccurrences(of: "OUT", with: directory + "/out").replacingOccurrences(of: "STATE", with: directory) }
        if given.count > 1, given[1] != "frobnicate" { given += ["--state-dir", directory + "/state"] }
        let result = try hub(given)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains(message), "\(result.output)")
        #expect(access(directory + "/out/freezer.key", F_OK) != 0, "nothing issued")
    }

    @Test("hub kit list on a fresh state directory says nothing is enrolled")
    func emptyList() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let result = try hub(["kit", "list", "--state-dir", directory + "/state"])
        #expect(result.status == 0 && result.output.contains("no kit is enrolled"), "\(result.output)")
    }
}
