import Foundation
import HubLive
import Testing

/// `--config hub.yaml` as a user meets it: the built `hubrig sim run` and `hub run` read the
/// file, flags given override it, and a mistake in it exits 2 naming file, line and field.
@Suite("--config hub.yaml (built binaries)", .serialized)
struct ConfigFileEndToEndTests {
    @Test("hubrig sim run --config runs the file's hub: its thing, devices, poll and state directory")
    func simRunWithConfig() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let furnace = I2CShimEndToEndTests.packageRoot.appendingPathComponent("fixtures/models/furnace").path
        try """
            thing: cfg-hub_7
            devices:
              - { id: hvac, kind: furnace, model: \(furnace) }
              - { id: cooler, kind: fridge }
            poll_interval: 1s
            telemetry_batch: off
            state_dir: state
            local_broker: { host: 127.0.0.1, port: 1883 }
            kits: [{ id: kit-1, kind: washer, interval: 10s }]
            """.write(toFile: directory + "/hub.yaml", atomically: true, encoding: .utf8)
        let log = directory + "/hub.jsonl"
        let result = try runProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                    ["sim", "run", "--config", directory + "/hub.yaml", "--duration", "2s", "--event-log", log,
                                     "--models", directory + "/no-models"],
                                    environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains("\"topic\": \"dt/local/sensor/hvac\"") }, "the file's furnace publishes")
        #expect(lines.contains { $0.contains("\"topic\": \"dt/local/sensor/cooler\"") }, "the file's fridge publishes")
        let readings = lines.filter { $0.contains("\"topic\": \"dt/local/sensor/hvac\"") }.count
        #expect(readings >= 2, "polls of 1 s over 2 s: \(readings) readings")
        #expect(lines.contains { $0.contains("hbs/cfg-hub_7/telemetry") }, "telemetry per reading under the file's thing")
        #expect(FileManager.default.fileExists(atPath: directory + "/state/outbox.sqlite"),
                "state_dir: state is the config file's directory's, not the working directory's")
        #expect(result.output.contains("no model package at \(directory)/no-models/fridge"), "--models still supplies the defaults")
        #expect(!result.output.contains("no model package at \(directory)/no-models/furnace"), "the file's model: scores the furnace")
        #expect(result.output.contains("local broker 127.0.0.1:1883:"), "the file's kit is listened for on the file's local broker (none runs here)")

        // Flags given override the file: another thing, other devices, another state directory
        // (the file's outbox still holds the first run's messages, which would go again).
        let overridden = try runProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                        ["sim", "run", "--config", directory + "/hub.yaml", "--duration", "2s", "--event-log", log,
                                         "--models", directory + "/no-models", "--thing", "flag-hub", "--device", "solo:furnace",
                                         "--state-dir", directory + "/flag-state"],
                                        environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(overridden.status == 0, "\(overridden.output)")
        let again = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(again.contains { $0.contains("hbs/flag-hub/telemetry") })
        #expect(!again.contains { $0.contains("cfg-hub_7") })
        #expect(again.contains { $0.contains("dt/local/sensor/solo") } && !again.contains { $0.contains("dt/local/sensor/cooler") })
        #expect(FileManager.default.fileExists(atPath: directory + "/flag-state/outbox.sqlite"))
    }

    @Test("mutual TLS from the file: its relative certificate paths reach a real mosquitto that requires a client certificate")
    func mutualTLSFromConfig() throws {
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        // The configuration lives in etc/ with its certificates in etc/certs/; the hub runs
        // from the test's working directory, so only paths resolved against etc/ work.
        let etc = directory + "/etc"
        try FileManager.default.createDirectory(atPath: etc + "/certs", withIntermediateDirectories: true)
        let certificates = LocalCertificates(directory: etc + "/certs")
        try certificates.makeAuthority("ca")
        try certificates.makeCertificate("server", commonName: "localhost", ca: "ca", serverAddress: true)
        try certificates.makeCertificate("hub", commonName: "cfg-hub", ca: "ca")
        try certificates.makeCertificate("sink", commonName: "sink", ca: "ca")
        let broker = try LocalMosquitto(directory: directory, listener: certificates.mutualTLSListener)
        defer { broker.stop() }
        let received = directory + "/sink.txt"
        let sink = try ChildProcess("/usr/bin/mosquitto_sub",
                                    ["-h", "127.0.0.1", "-p", String(broker.port), "--cafile", certificates.path("ca.crt"),
                                     "--cert", certificates.path("sink.crt"), "--key", certificates.path("sink.key"),
                                     "-t", "hbs/cfg-hub/telemetry", "-q", "1", "-C", "3", "-W", "30", "-v"],
                                    output: received)
        defer { sink.terminate() }
        usleep(400_000)  // its SUBSCRIBE reaches the broker before the hub publishes
        try """
            thing: cfg-hub
            devices: [{ id: hvac, kind: furnace }]
            poll_interval: 1s
            telemetry_batch: off
            cloud:
              host: 127.0.0.1
              port: \(broker.port)
              ca: certs/ca.crt
              cert: certs/hub.crt
              key: certs/hub.key
            state_dir: state
            """.write(toFile: etc + "/hub.yaml", atomically: true, encoding: .utf8)
        let result = try runProcess(hubrig, ["sim", "run", "--config", etc + "/hub.yaml", "--duration", "4s",
                                             "--models", directory + "/no-models", "--event-log", directory + "/hub.jsonl"],
                                    environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        #expect(sink.wait(seconds: 30) == 0, "mosquitto_sub received three readings over mutual TLS")
        let lines = try String(contentsOfFile: received, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines.allSatisfy { $0.hasPrefix("hbs/cfg-hub/telemetry {") }, "\(lines)")
        #expect(FileManager.default.fileExists(atPath: etc + "/state/outbox.sqlite"))
        let key = try String(contentsOfFile: certificates.path("hub.key"), encoding: .utf8)
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key
        #expect(!result.output.contains(keyBody) && !result.output.contains("PRIVATE KEY"), "no key material in the hub's output")
    }

    @Test("a mistake in the file: exit 2 naming file, line and field, from hub and hubrig alike")
    func badConfigExits2() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let file = directory + "/hub.yaml"
        try "thing: hbshub001\ndevices:\n  - { id: hvac, kind: furnace }\npoll_interval: 0s\n".write(toFile: file, atomically: true, encoding: .utf8)
        let hub = try runProcess(try I2CShimEndToEndTests.hubExecutable(),
                                 ["run", "--backend", "sensehat", "--config", file, "--duration", "1s", "--event-log", "/dev/null"],
                                 environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(hub.status == 2, "\(hub.output)")
        #expect(hub.output.contains("\(file):4:16: poll_interval: \"0s\" is outside the allowed 1s...1h"), "\(hub.output)")
        let sim = try runProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                 ["sim", "run", "--config", file, "--duration", "1s", "--event-log", "/dev/null"],
                                 environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(sim.status == 2, "\(sim.output)")
        #expect(sim.output.contains("\(file):4:16: poll_interval:"), "\(sim.output)")
        let unknown = directory + "/unknown.yaml"
        try "thing: hbshub001\npoll_intervall: 5s\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        let typo = try runProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                  ["sim", "run", "--config", unknown, "--duration", "1s", "--event-log", "/dev/null"],
                                  environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(typo.status == 2, "\(typo.output)")
        #expect(typo.output.contains("\(unknown):2:1: poll_intervall: unknown field 'poll_intervall' (did you mean 'poll_interval'?)"),
                "\(typo.output)")
    }
}
