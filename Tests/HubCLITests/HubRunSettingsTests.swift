import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubKernel
import HubYAML
import Testing

/// Precedence: the built-in defaults, then the configuration file, then the flags given.
@Suite("Hub run settings: defaults < --config file < flags")
final class HubRunSettingsTests {
    /// This test's scratch directory, removed when the test ends.
    let directory: String
    var files = 0

    init() throws { directory = try scratchDirectory() }
    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The settings `hub run` / `hubrig sim run` would resolve for `arguments`.
    func settings(_ arguments: [String]) throws -> HubRunSettings {
        let (run, cloud) = Self.split(arguments)
        return try HubRunOptions.parse(run).settings(cloud: try CloudOptions.parse(cloud))
    }

    /// Splits a command line of `--flag value` pairs into the two option groups' arguments.
    static func split(_ arguments: [String]) -> (run: [String], cloud: [String]) {
        let cloudFlags: Set = ["--cloud-host", "--cloud-port", "--cloud-ca", "--cloud-cert", "--cloud-key", "--state-dir"]
        var run: [String] = []
        var cloud: [String] = []
        var index = 0
        while index < arguments.count {
            let pair = Array(arguments[index..<min(index + 2, arguments.count)])
            if cloudFlags.contains(arguments[index]) { cloud += pair } else { run += pair }
            index += 2
        }
        return (run, cloud)
    }

    /// Writes `text` as a new `hub-N.yaml` in the scratch directory; returns the file's path.
    func writeConfig(_ text: String) throws -> String {
        files += 1
        let path = directory + "/hub-\(files).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let fullFile = """
        thing: filething
        devices:
          - { id: hvac, kind: furnace }
          - { id: cooler, kind: fridge, model: models/fridge }
        poll_interval: 5s
        telemetry_batch: 1h
        cloud: { host: iot.example.com, port: 8884, ca: certs/ca.pem, cert: certs/hub.pem, key: certs/hub.key }
        state_dir: state
        local_broker: { host: 127.0.0.1, port: 1884 }
        kits: [{ id: kit-1, kind: washer, interval: 30s }]
        """

    @Test("without a file or flags: the built-in defaults")
    func defaults() throws {
        let settings = try self.settings([])
        #expect(settings.thing == "hbshub001")
        #expect(settings.devices == [HubConfigFile.Device(id: "hvac", kind: .furnace)])
        #expect(settings.pollInterval == .seconds(10))
        #expect(settings.telemetryBatch == .every(.seconds(86_400)))
        #expect(settings.cloud == nil && settings.stateDirectory == nil && settings.localBroker == nil && settings.kits.isEmpty)
    }

    @Test("the file's fields replace the defaults")
    func fileOverDefaults() throws {
        let path = try writeConfig(Self.fullFile)
        let directory = HubConfigFile.directory(of: path)
        let settings = try self.settings(["--config", path])
        #expect(settings.thing == "filething")
        #expect(settings.devices.map(\.id) == ["hvac", "cooler"])
        #expect(settings.devices.last?.model?.value == directory + "/models/fridge")
        #expect(settings.pollInterval == .seconds(5))
        #expect(settings.telemetryBatch == .every(.seconds(3600)))
        #expect(settings.cloud?.endpoint == BrokerAddress(host: "iot.example.com", port: 8884))
        #expect(settings.cloud?.ca?.value == directory + "/certs/ca.pem")
        #expect(settings.cloud?.key?.value == directory + "/certs/hub.key")
        #expect(settings.stateDirectory?.value == directory + "/state")
        #expect(settings.localBroker == BrokerAddress(host: "127.0.0.1", port: 1884))
        #expect(settings.kits == [HubConfigFile.Kit(id: "kit-1", kind: .washer, interval: .seconds(30))])
    }

    @Test("flags given override the file, field by field; flags not given leave it")
    func flagsOverFile() throws {
        let path = try writeConfig(Self.fullFile)
        let directory = HubConfigFile.directory(of: path)
        let settings = try self.settings(["--config", path, "--thing", "flagthing", "--poll", "2s", "--telemetry-batch", "off",
                                          "--device", "w:washer", "--cloud-port", "8883", "--cloud-key", "/keys/other.key",
                                          "--cloud-cert", "/keys/other.pem", "--state-dir", "/var/lib/hub"])
        #expect(settings.thing == "flagthing")
        #expect(settings.devices == [HubConfigFile.Device(id: "w", kind: .washer)], "--device replaces the whole list")
        #expect(settings.pollInterval == .seconds(2))
        #expect(settings.telemetryBatch == .off)
        #expect(settings.cloud?.endpoint == BrokerAddress(host: "iot.example.com", port: 8883), "the file's host, the flag's port")
        #expect(settings.cloud?.ca == Sourced(directory + "/certs/ca.pem",
                                              from: .file(file: path, line: 7, column: 49, field: "cloud.ca")), "the file's CA")
        #expect(settings.cloud?.key == Sourced("/keys/other.key", from: .flag("--cloud-key")), "the flag's key, relative to nothing")
        #expect(settings.cloud?.certificate?.value == "/keys/other.pem")
        #expect(settings.stateDirectory == Sourced("/var/lib/hub", from: .flag("--state-dir")))
        #expect(settings.localBroker == BrokerAddress(host: "127.0.0.1", port: 1884), "no flag: the file's")
        #expect(settings.kits.map(\.id) == ["kit-1"])

        let host = try self.settings(["--config", path, "--cloud-host", "127.0.0.1"])
        #expect(host.cloud?.endpoint == BrokerAddress(host: "127.0.0.1", port: 8884), "another broker, the file's port and TLS files")
        #expect(host.cloud?.ca?.value == directory + "/certs/ca.pem")
    }

    @Test("a flag equal to the default still overrides the file")
    func explicitDefaultOverrides() throws {
        let path = try writeConfig(Self.fullFile)
        let settings = try self.settings(["--config", path, "--poll", "10s", "--thing", "hbshub001", "--telemetry-batch", "24h"])
        #expect(settings.pollInterval == .seconds(10))
        #expect(settings.thing == "hbshub001")
        #expect(settings.telemetryBatch == .every(.seconds(86_400)))
    }

    @Test("--help still shows every default")
    func helpShowsDefaults() {
        let run = HubRunOptions.helpMessage(columns: 1000)
        for text in ["--config <file>", "(default: hvac:furnace)", "(default: hbshub001)", "(default: 10s)", "(default: 24h)",
                     "(default: fixtures/models)", "(default: -)"] {
            #expect(run.contains(text), "\(text) in:\n\(run)")
        }
        #expect(CloudOptions.helpMessage(columns: 1000).contains("(default: 8883)"))
    }

    @Test("flag mistakes keep their flag-worded errors")
    func flagErrors() throws {
        func message(_ arguments: [String]) -> String {
            do { _ = try settings(arguments); return "accepted" } catch { return "\(error)" }
        }
        #expect(message(["--thing", "a/b"]).contains("--thing \"a/b\": a thing name is"))
        #expect(message(["--poll", "soon"]).hasPrefix("--poll: "))
        #expect(message(["--telemetry-batch", "8d"]).contains("allowed 1s...7d, or off"))
        #expect(message(["--device", "hvac"]).contains("expected id:kind"))
        #expect(message(["--cloud-port", "0"]).contains("--cloud-port 0: a TCP port is 1…65535"))
        #expect(message(["--cloud-ca", "/ca.pem"]).contains("need --cloud-host"))
        #expect(message(["--cloud-host", "h", "--cloud-cert", "/c.pem"]).contains("go together"))
        #expect(message(["--cloud-host", "bad host"]).contains("--cloud-host: a host is"))
        #expect(message(["--config", "/nonexistent/hub.yaml"]).hasPrefix("/nonexistent/hub.yaml: cannot open:"))
    }

    @Test("limits checked when the configuration is built keep their wording")
    func buildLimits() throws {
        let duplicate = try settings(["--device", "kit:furnace", "--device", "kit:washer"])
        #expect(throws: ValidationError.self) { try duplicate.config(tool: "test") }
        let slow = try settings(["--poll", "2h"])
        do { _ = try slow.config(tool: "test"); Issue.record("2h accepted") } catch {
            #expect("\(error)".contains("--poll 2h: the poll interval must be within 1s...1h"), "\(error)")
        }
    }

    @Test("a file's path that fails when used names the file, line and field")
    func usedPathsNameTheirField() throws {
        let path = try writeConfig("""
            devices:
              - { id: hvac, kind: furnace, model: no-such-package }
            cloud:
              host: 127.0.0.1
              ca: certs/missing-ca.pem
            """)
        let settings = try self.settings(["--config", path])
        do { _ = try settings.config(tool: "test"); Issue.record("a missing package loaded") } catch {
            #expect("\(error)".hasPrefix("\(path):2:"), "\(error)")
            #expect("\(error)".contains("devices[0].model: \(HubConfigFile.directory(of: path))/no-such-package: "), "\(error)")
        }
        do { try settings.checkCloudFiles(); Issue.record("a missing CA passed") } catch {
            #expect("\(error)".hasPrefix("\(path):5:"), "\(error)")
            #expect("\(error)".contains("cloud.ca: \(HubConfigFile.directory(of: path))/certs/missing-ca.pem: No such file or directory"), "\(error)")
        }
        let flagged = try self.settings(["--config", path, "--cloud-ca", "/no/ca.pem"])
        do { try flagged.checkCloudFiles(); Issue.record("a missing CA passed") } catch {
            #expect("\(error)" == "--cloud-ca /no/ca.pem: No such file or directory", "\(error)")
        }
        let blocker = HubConfigFile.directory(of: path) + "/file"
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        let state = try writeConfig("state_dir: \(blocker)/state\n")
        do { _ = try self.settings(["--config", state]).outbox(fallback: nil); Issue.record("a state directory under a file") } catch {
            #expect("\(error)".hasPrefix("\(state):1:"), "\(error)")
            #expect("\(error)".contains("state_dir: "), "\(error)")
        }
    }

    @Test("a device's model: from the file scores it, and must watch its kind")
    func deviceModel() throws {
        let furnace = packageRoot + "/fixtures/models/furnace"
        let good = try settings(["--config", try writeConfig("devices: [{ id: hvac, kind: furnace, model: \(furnace) }]")])
        let config = try good.config(tool: "test")
        guard case .package(let package) = config.devices.first?.detector else {
            Issue.record("not scored by the package")
            return
        }
        #expect(package.manifest.kind == .furnace)
        let path = try writeConfig("devices:\n  - { id: tub, kind: washer, model: \(furnace) }")
        do { _ = try settings(["--config", path]).config(tool: "test"); Issue.record("a furnace model on a washer") } catch {
            #expect("\(error)".hasPrefix("\(path):2:"), "\(error)")
            #expect("\(error)".contains("devices[0].model: \(furnace): furnace-ae@"), "\(error)")
            #expect("\(error)".contains("not a washer"), "\(error)")
        }
    }

    @Test("--kit adds kits read over MQTT; a kit with a device's id, a bad kit or a bad broker is refused naming the flag")
    func kitFlags() throws {
        let settings = try HubRunOptions.parse([]).settings(cloud: try CloudOptions.parse([]),
                                                            kits: try KitOptions.parse(["--kit", "garage:fridge:30s", "--local-broker", "10.0.0.2:1884"]))
        let config = try settings.config(tool: "test")
        #expect(config.devices.map(\.id) == ["hvac", "garage"])
        #expect(config.devices.last?.source == .mqttKit(interval: .seconds(30)))
        #expect(settings.localBroker == BrokerAddress(host: "10.0.0.2", port: 1884))
        func refusal(_ kitArguments: [String]) -> String {
            do {
                _ = try HubRunOptions.parse([]).settings(cloud: try CloudOptions.parse([]), kits: try KitOptions.parse(kitArguments)).config(tool: "test")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(["--kit", "hvac:furnace:10s"]).contains("kit 'hvac' has the id of a device"))
        #expect(refusal(["--kit", "a:b"]).contains("--kit a:b: expected id:kind:interval"))
        #expect(refusal(["--kit", "k:fridge:0s"]).contains("outside 1s...1h"))
        #expect(refusal(["--kit", "k:fridge:10s", "--local-broker", "h:99999"]).contains("--local-broker h:99999"))
        #expect(refusal(["--kit", "k:fridge:10s", "--local-broker", ";rm:1883"]).contains("a host is a name or an IP address"))
    }
}
