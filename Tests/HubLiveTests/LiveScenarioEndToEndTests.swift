import Foundation
import Glibc
import HubCore
import Testing

/// `hubrig scenario run --live` as an operator runs it: the built hubrig starts the built hub,
/// real mosquitto brokers (TLS with openssl-made certificates), the fault proxy and the I²C
/// stand-in; the verdict comes from the simulation's checkers; nothing is left running.
@Suite("scenario run --live (built binaries, real brokers)", .serialized)
struct LiveScenarioEndToEndTests {
    /// Twenty minutes of hub time at 40×: the link cut through the proxy, the hub killed and
    /// started again, a wire fault through the hub's control socket.
    static let scenario = """
        name: live-e2e
        modes: [sim, live]
        seed: 5
        duration: 20m
        hub:
          thing: hbshub001
          poll_interval: 10s
          telemetry_batch: off
          appliances:
            - { id: hvac, kind: furnace, sensor: sensehat, model: interim }
        timeline:
          - { at: 2m, fault: cloud.offline, for: 2m }
          - { at: 5m, fault: host.power-loss, for: 1m }
          - { at: 7m, fault: i2c.0x5f.absent, for: 1m }
        expect:
          - no-reading-lost
          - health: { component: uplink, state: degraded, within: 1m, after: 2m }
          - delivered-to-cloud: { topic: telemetry, within: 2m, after: 4m }
          - health: { device: hvac, state: failed, within: 1m, after: 7m }
          - health: { device: hvac, state: ok, within: 10m, after: 8m }
          - component-state: { component: sensor, state: running }

        """

    struct Run {
        let result: ProcessResult
        let directory: String
    }

    /// Runs `text` as a scenario file with --live; `interruptAfter` sends SIGINT that long in.
    static func runLive(_ text: String, interruptAfter: Duration? = nil, timeout: Duration = .seconds(120)) throws -> Run {
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let hub = try LiveHubEndToEndTests.executable("hub")
        let directory = try makeScratchDirectory()
        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let file = directory + "/live-e2e.yaml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let arguments = ["scenario", "run", file, "--live", "--hub", hub, "--shim", shim, "--live-dir", directory + "/runs"]
        guard let interruptAfter else {
            return Run(result: try runProcess(hubrig, arguments, environment: ProcessInfo.processInfo.environment, timeout: timeout), directory: directory)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hubrig)
        process.arguments = arguments
        let output = directory + "/output"
        #expect(FileManager.default.createFile(atPath: output, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: output))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        Thread.sleep(forTimeInterval: interruptAfter.secondsValue)
        kill(process.processIdentifier, SIGINT)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try handle.close()
        return Run(result: ProcessResult(status: process.terminationStatus, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""),
                   directory: directory)
    }

    /// Processes whose command line mentions `directory` (the hub, the brokers): none may outlive a run.
    static func leftovers(in directory: String) -> [String] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return ids.compactMap { id -> String? in
            guard Int(id) != nil, let data = FileManager.default.contents(atPath: "/proc/\(id)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return command.contains(directory) ? "\(id): \(command)" : nil
        }
    }

    @Test("a live run passes with the link cut, the hub killed and restarted, a sensor unplugged; nothing is left running")
    func passes() throws {
        let run = try Self.runLive(Self.scenario)
        defer { removeScratchDirectory(run.directory) }
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.result.output.contains("PASS live-e2e"), "\(run.result.output)")
        #expect(run.result.output.contains("hub processes 2, last exit clean"), "\(run.result.output)")
        for line in ["ok   no-reading-lost", "ok   health(hvac failed", "ok   health(hvac ok", "ok   health(uplink degraded"] {
            #expect(run.result.output.contains(line), "\(line) in \(run.result.output)")
        }
        // The merged log is an event log the offline checker reads back.
        let merged = run.directory + "/runs/live-e2e/events.jsonl"
        #expect(FileManager.default.fileExists(atPath: merged))
        let hubLog = try String(contentsOfFile: run.directory + "/runs/live-e2e/hub-2.jsonl", encoding: .utf8)
        #expect(hubLog.contains("\"fault.start\"") && hubLog.contains("i2c.0x5f.absent"), "the wire fault went through the hub's control socket")
        #expect(Self.leftovers(in: run.directory).isEmpty, "\(Self.leftovers(in: run.directory))")
    }

    @Test("a failing expectation fails the live run: exit 1, the evidence, the run's files and a replay command")
    func failsWithEvidence() throws {
        let failing = """
            name: live-e2e
            modes: [live]
            seed: 5
            duration: 3m
            hub:
              thing: hbshub001
              appliances:
                - { id: hvac, kind: furnace, sensor: sensehat, model: interim }
            expect:
              - no-reading-lost
              - alert: { device: hvac, within: 1m, after: 1m }

            """
        let run = try Self.runLive(failing)
        defer { removeScratchDirectory(run.directory) }
        #expect(run.result.status == 1, "\(run.result.output)")
        #expect(run.result.output.contains("FAIL alert(hvac within 1m after 1m)"), "\(run.result.output)")
        #expect(run.result.output.contains("replay: hubrig scenario run") && run.result.output.contains("--live --seed 5"), "\(run.result.output)")
        #expect(Self.leftovers(in: run.directory).isEmpty, "\(Self.leftovers(in: run.directory))")
    }

    @Test("Ctrl-C stops a live run: exit 130, the hub and both brokers are gone")
    func interrupted() throws {
        let run = try Self.runLive(Self.scenario, interruptAfter: .seconds(6))
        defer { removeScratchDirectory(run.directory) }
        #expect(run.result.status == 130, "\(run.result.output)")
        #expect(run.result.output.contains("stopping the live run"), "\(run.result.output)")
        #expect(Self.leftovers(in: run.directory).isEmpty, "\(Self.leftovers(in: run.directory))")
    }

    @Test("a bench run drives the HAT it is given, with no stand-in of its own, breaks the link under it and asks the person at the terminal")
    func bench() throws {
        // The "real" HAT of this bench is `hubrig sim i2c-serve` behind the shim: to the rig
        // and the hub it is /dev/i2c-7, as a Pi's HAT is /dev/i2c-1.
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let hub = try LiveHubEndToEndTests.executable("hub")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let shim = try I2CShimEndToEndTests.buildShim(in: directory)
        let socket = directory + "/hat.sock"
        let hat = try startI2CServe(socket: socket, ["--appliance", "furnace", "--duration", "3m"])
        defer { stopChild(hat) }
        let file = directory + "/bench.yaml"
        try """
            name: bench-e2e
            modes: [bench]
            seed: 3
            duration: 50s
            hub:
              thing: hbshub001
              poll_interval: 1s
              appliances:
                - { id: hvac, kind: furnace, sensor: sensehat, model: interim }
            timeline:
              - { at: 10s, fault: appliance.hvac.blocked-filter, prompt: "Put a hand over the vent" }
              - { at: 20s, fault: cloud.offline, for: 10s }
            expect:
              - no-reading-lost
              - health: { component: uplink, state: degraded, within: 5s, after: 20s }

            """.write(toFile: file, atomically: true, encoding: .utf8)
        var environment = shimEnvironment(shim: shim, device: "/dev/i2c-7", socket: socket)
        environment["LD_PRELOAD"] = shim
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hubrig)
        process.arguments = ["scenario", "run", file, "--live", "--backend", "sensehat", "--i2c", "/dev/i2c-7", "--gpiochip", directory + "/no-chip",
                             "--hub", hub, "--live-dir", directory + "/runs"]
        process.environment = environment
        let input = Pipe()
        let outputPath = directory + "/output"
        #expect(FileManager.default.createFile(atPath: outputPath, contents: nil))
        let output = try #require(FileHandle(forWritingAtPath: outputPath))
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        Thread.sleep(forTimeInterval: 15)
        input.fileHandleForWriting.write(Data("\n".utf8))  // the person did it
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("BENCH: Put a hand over the vent"), "\(text)")
        #expect(text.contains("PASS bench-e2e") && text.contains("at 1×"), "\(text)")
        let merged = (try? String(contentsOfFile: directory + "/runs/bench-e2e/events.jsonl", encoding: .utf8)) ?? ""
        #expect(merged.contains("bench.prompt appliance.hvac.blocked-filter done"), "the answer is in the history")
        #expect(!FileManager.default.fileExists(atPath: directory + "/runs/bench-e2e/i2c.sock"), "a bench serves no stand-in of its own")
        #expect(Self.leftovers(in: directory + "/runs").isEmpty, "\(Self.leftovers(in: directory + "/runs"))")
    }
}
