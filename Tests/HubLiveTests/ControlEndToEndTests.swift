import Foundation
import HubCore
import Testing

/// The bench's fault CLI against the real hub: `hub run --backend sensehat` through the I²C
/// stand-in, `hubrig status` and `hubrig fault` on its control socket.
@Suite("hubrig fault and hubrig status against a running hub", .serialized)
struct ControlEndToEndTests {
    struct Hubrig {
        let path: String
        let socket: String

        func run(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(path, arguments + ["--socket", socket], environment: [:], timeout: .seconds(20))
        }

        /// `hubrig status --json` as an object.
        func status() throws -> [String: JSONValue] {
            let result = try run(["status", "--json"])
            guard result.status == 0, case .object(let status) = try JSONValue.parse(result.output) else {
                throw TestFailure("hubrig status: \(result.status) \(result.output)")
            }
            return status
        }

        func sensorHealth() throws -> JSONValue? {
            guard case .array(let devices)? = try status()["devices"], case .object(let device)? = devices.first else { return nil }
            return device["sensor_health"]
        }
    }

    @Test("inject a loose connector into a running hub: its health shows it, the fault ends by itself, and the log says when")
    func looseConnector() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let i2cSocket = directory + "/i2c.sock"
        let server = try startI2CServe(socket: i2cSocket, ["--appliance", "furnace", "--duration", "90s", "--event-log", directory + "/world.jsonl"])
        defer { stopChild(server) }
        let hubrig = Hubrig(path: try LiveHubEndToEndTests.executable("hubrig"), socket: directory + "/state/control.sock")

        let hubProcess = try startShimmedHub(directory: directory, shim: shim, i2cSocket: i2cSocket,
                                             ["--duration", "60s", "--cloud-spool", directory + "/spool.jsonl"])
        defer { stopChild(hubProcess) }
        #expect(eventually(within: .seconds(15)) { FileManager.default.fileExists(atPath: hubrig.socket) } != nil, "the hub opened its control socket")
        var info = stat()
        #expect(stat(hubrig.socket, &info) == 0 && info.st_mode & 0o777 == 0o600)

        let before = try hubrig.status()
        #expect(before["thing"] == .string("hbshub001"))
        guard case .array(let components)? = before["components"] else { throw TestFailure("no components: \(before)") }
        #expect(components.contains(.object(["name": .string("sensor"), "state": .string("running")])), "\(components)")
        #expect(try eventually(within: .seconds(10)) { try hubrig.sensorHealth() == .string("ok") } != nil)

        let injected = try hubrig.run(["fault", "inject", "i2c.absent", "--target", "0x5f", "--for", "4s"])
        #expect(injected.status == 0, "\(injected.output)")
        #expect(injected.output == "f1 i2c.0x5f.absent for 4s\n", "\(injected.output)")
        #expect(try eventually(within: .seconds(4)) { try hubrig.sensorHealth() == .string("failed") } != nil, "the HTS221's silence shows in the kit's health")
        let human = try hubrig.run(["status"])
        #expect(human.output.contains("f1 i2c.0x5f.absent until"), "\(human.output)")
        #expect(try eventually(within: .seconds(8)) { try hubrig.status()["faults"] == .array([]) } != nil, "the fault ended by itself")
        // Data flows again within the failed chip's retry backoff; `ok` needs 30 clean polls more.
        #expect(try eventually(within: .seconds(15)) { try hubrig.sensorHealth() == .string("degraded") } != nil, "and the kit recovered")

        // A program nobody here wrote speaks the protocol too: socat, as docs/control.md shows.
        let socat = try runProcess("/usr/bin/env", ["sh", "-c", "printf '%s\\n' \"$0\" 'garbage' | socat -t 2 - UNIX-CONNECT:\"$1\"",
                                                     #"{"v": 1, "id": "s", "op": "faults"}"#, hubrig.socket],
                                   environment: ProcessInfo.processInfo.environment, timeout: .seconds(10))
        let socatLines = socat.output.split(separator: "\n")
        #expect(socat.status == 0 && socatLines.count == 2, "\(socat.output)")
        #expect(socatLines.first?.contains(#""id": "s", "ok": true"#) == true, "\(socat.output)")
        #expect(socatLines.last?.contains(#""code": "bad_request""#) == true, "\(socat.output)")

        let refused = try hubrig.run(["fault", "inject", "cloud.offline"])
        #expect(refused.status != 0 && refused.output.contains("fault proxy"), "\(refused.output)")
        let unknown = try hubrig.run(["fault", "clear", "f7"])
        #expect(unknown.status != 0 && unknown.output.contains("no fault f7"), "\(unknown.output)")
        let crash = try hubrig.run(["fault", "inject", "component.display.crash"])
        #expect(crash.status == 0, "\(crash.output)")
        let cleared = try hubrig.run(["fault", "clear", "--all"])
        #expect(cleared.output == "no fault was in force\n", "\(cleared.output)")

        hubProcess.terminate()
        hubProcess.waitUntilExit()
        #expect(hubProcess.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: hubrig.socket), "the socket goes with the hub")
        let log = try String(contentsOfFile: directory + "/hub.jsonl", encoding: .utf8)
        #expect(log.contains(#""fault": "control.f1 i2c.0x5f.absent""#), "the injection is in the hub's own log")
        #expect(log.contains(#""fault": "control.f1 i2c.0x5f.absent expired""#))
        #expect(log.contains(#""fault": "control.f2 component.display.crash""#))

        let gone = try hubrig.run(["status"])
        #expect(gone.status != 0 && gone.output.contains("no hub is running"), "\(gone.output)")
    }
}
