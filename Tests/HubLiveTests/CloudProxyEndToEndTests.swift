import Foundation
import HubCore
import HubLive
import Testing

/// "Cloud offline" as a real broken connection: the real hub publishes to a real mosquitto
/// through `hubrig cloud proxy`, and `hubrig fault inject cloud.offline` on the proxy's
/// control socket cuts it.
@Suite("hubrig cloud proxy between a running hub and a real broker", .serialized)
struct CloudProxyEndToEndTests {
    @Test("cloud.offline through the proxy: the hub's status shows it within a second, mosquitto_sub sees readings before and after")
    func offline() throws {
        let hubrigPath = try LiveHubEndToEndTests.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let broker = try LocalMosquitto(directory: directory)
        defer { broker.stop() }

        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: hubrigPath)
        proxy.arguments = ["cloud", "proxy", "--upstream", "127.0.0.1:\(broker.port)", "--control-socket", directory + "/proxy.sock", "--duration", "90s"]
        let proxyOutput = Pipe()
        proxy.standardOutput = proxyOutput
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        defer { stopChild(proxy) }
        // "hubrig cloud proxy: 127.0.0.1:PORT → ...": the port the hub connects to.
        let firstLine = String(decoding: proxyOutput.fileHandleForReading.availableData, as: UTF8.self)
        let portText = firstLine.split(separator: ":").dropFirst(2).first?.split(separator: " ").first
        let proxyPort = try #require(portText.flatMap { Int($0) }, "\(firstLine)")

        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let i2cSocket = directory + "/i2c.sock"
        let server = try startI2CServe(socket: i2cSocket, ["--appliance", "furnace", "--duration", "90s", "--event-log", directory + "/world.jsonl"])
        defer { stopChild(server) }
        let hubProcess = try startShimmedHub(directory: directory, shim: shim, i2cSocket: i2cSocket,
                                             ["--duration", "60s", "--telemetry-batch", "off",
                                              "--cloud-host", "127.0.0.1", "--cloud-port", String(proxyPort)])
        defer { stopChild(hubProcess) }
        let hubControl = directory + "/state/control.sock"
        func connected() throws -> Bool {
            guard FileManager.default.fileExists(atPath: hubControl) else { return false }
            guard case .object(let status) = try ControlClient(path: hubControl).request("status") else { return false }
            return status["cloud_connected"] == .bool(true)
        }
        func received(_ count: Int) throws -> ProcessResult {
            try runProcess("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "hbs/+/telemetry", "-C", String(count), "-W", "15"],
                           environment: ProcessInfo.processInfo.environment, timeout: .seconds(20))
        }
        #expect(try eventually(within: .seconds(15)) { try connected() } != nil, "the hub connected through the proxy")
        let before = try received(2)
        #expect(before.status == 0 && before.output.contains("\"readings\""), "readings reach the broker through the proxy: \(before.output)")

        let injected = try runProcess(hubrigPath, ["fault", "inject", "cloud.offline", "--socket", directory + "/proxy.sock"],
                                      environment: [:], timeout: .seconds(10))
        #expect(injected.status == 0 && injected.output.hasPrefix("f1 cloud.offline"), "\(injected.output)")
        let noticed = try eventually(within: .seconds(5)) { try !connected() }
        let took = try #require(noticed, "the hub noticed the cut")
        #expect(took < .seconds(1), "a reset connection is noticed at once (keepalive 60 s + 1 s is the bound): \(took)")
        print("cloud.offline noticed by the hub after \(took)")
        let refusedHub = try runProcess(hubrigPath, ["fault", "inject", "i2c.0x5f.nack", "--socket", directory + "/proxy.sock"],
                                        environment: [:], timeout: .seconds(10))
        #expect(refusedHub.status != 0 && refusedHub.output.contains("the hub's own control socket"), "\(refusedHub.output)")

        let cleared = try runProcess(hubrigPath, ["fault", "clear", "--all", "--socket", directory + "/proxy.sock"], environment: [:], timeout: .seconds(10))
        #expect(cleared.output == "cleared f1\n", "\(cleared.output)")
        #expect(try eventually(within: .seconds(30)) { try connected() } != nil, "reconnected after its backoff")
        let after = try received(2)
        #expect(after.status == 0 && after.output.contains("\"readings\""), "\(after.output)")
    }
}
