import Foundation
import HubCore
import Testing

/// The bench path in CI: the real `hub run --backend sensehat` (LinuxI2CBus, I2C_RDWR) on a
/// fake /dev/i2c-N whose transfers the shim carries to `hubrig sim i2c-serve`, which answers
/// from register-level chips and injects a no-ACK fault in real time.
@Suite("hub --backend sensehat against hubrig sim i2c-serve", .serialized)
struct LiveHubEndToEndTests {
    static func executable(_ name: String) throws -> String {
        let hub = try I2CShimEndToEndTests.hubExecutable()
        let path = URL(fileURLWithPath: hub).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw TestFailure("no \(name) at \(path): run `swift build` first") }
        return path
    }

    @Test("the hub reads plausible values through the shim and survives a no-ACK window")
    func survivesNoAck() throws {
        let hub = try I2CShimEndToEndTests.hubExecutable()
        let hubrig = try Self.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let scenario = directory + "/nack.yaml"
        try """
            name: live-nack
            seed: 2
            duration: 1h
            hub:
              appliances: [{ id: hvac, kind: furnace }]
            timeline:
              - { at: 3s, fault: i2c.0x5f.nack, for: 3s }
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let socket = directory + "/i2c.sock"
        let server = try startI2CServe(socket: socket, ["--scenario", scenario, "--duration", "30s", "--event-log", directory + "/world.jsonl"])
        defer { stopChild(server) }

        let environment = shimEnvironment(shim: shim, device: "/dev/i2c-7", socket: socket)
        let log = directory + "/hub.jsonl"
        let result = try runProcess(hub, ["run", "--backend", "sensehat", "--i2c", "/dev/i2c-7", "--gpiochip", directory + "/no-gpiochip",
                                          "--poll", "1s", "--duration", "10s", "--event-log", log,
                                          "--cloud-spool", directory + "/spool.jsonl", "--state-dir", directory + "/state"],
                                    environment: environment, timeout: .seconds(40))
        #expect(result.status == 0, "hub exited cleanly: \(result.output)")
        #expect(result.output.contains("joystick disabled"), "no GPIO chip: the hub says so and runs on")

        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        var full: [Reading] = []
        var partial = 0
        var noAcks = 0
        for line in lines {
            if line.contains("\"ev\": \"sensor.error\""), line.contains("no ACK at 0x5") { noAcks += 1 }
            guard line.contains("\"topic\": \"dt/local/sensor/hvac\""), let start = line.range(of: "\"payload\": ") else { continue }
            let payload = Array(line[start.upperBound...].dropLast().utf8)
            let reading = try Reading.decode(payload)
            if reading.quality == .partial { partial += 1 } else { full.append(reading) }
        }
        #expect(full.count >= 5, "readings before and after the fault: \(full.count)")
        for reading in full {
            #expect((10...80).contains(reading.values[.temperature] ?? -99), "plausible supply-air temperature")
            #expect((0...100).contains(reading.values[.humidity] ?? -1))
            #expect((950...1080).contains(reading.values[.pressure] ?? 0))
        }
        #expect(noAcks > 0, "the no-ACK window reached the hub as errors")
        #expect(partial >= 2, "pressure kept coming while the HTS221 was silent")
        let lastFull = try #require(full.last)
        let firstError = try #require(lines.firstIndex { $0.contains("no ACK at 0x5") })
        let lastFullIndex = try #require(lines.lastIndex { $0.contains("\"temperature\"") })
        #expect(lastFullIndex > firstError, "full readings again after the fault: \(lastFull)")
        #expect(lines.contains { $0.contains("\"state\": \"failed\"") || $0.contains("\"state\": \"degraded\"") })

        // The same checkers that judge a simulation judge the real hub's log.
        func judge(_ expectations: String) throws -> ProcessResult {
            let judge = directory + "/judge.yaml"
            try """
                name: live-nack-judged
                seed: 2
                duration: 10s
                hub:
                  poll_interval: 1s
                  appliances: [{ id: hvac, kind: furnace }]
                expect:
                \(expectations)
                """.write(toFile: judge, atomically: true, encoding: .utf8)
            return try runProcess(hubrig, ["scenario", "check", judge, "--history", log], environment: [:], timeout: .seconds(30))
        }
        let held = try judge("""
              - health: { device: hvac, state: degraded, within: 9s, after: 0s }
              - channel-range: { device: hvac, channel: pressure, min: 950, max: 1080 }
            """)
        #expect(held.status == 0, "\(held.output)")
        #expect(held.output.contains("PASS live-nack-judged"), "\(held.output)")
        let broken = try judge("  - channel-range: { device: hvac, channel: pressure, min: 2000, max: 3000 }")
        #expect(broken.status == 1, "an expectation the run broke fails the check: \(broken.output)")
    }
}
