import Foundation
import HubCLI
import HubCore
import HubKernel
import HubYAML
import Testing

/// The package root, from this file's path (Tests/HubCLITests/<file>).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh private directory for one test.
func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hubcli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Parses configuration text as if it were the file `file`.
func parseConfig(_ text: String, file: String = "/etc/hub/hub.yaml") throws(YAMLFileError) -> HubConfigFile {
    try HubConfigFile.parse(bytes: Array(text.utf8), file: file)
}

@Suite("Hub configuration file")
struct HubConfigFileTests {
    static let example = packageRoot + "/docs/hub.example.yaml"

    @Test("the shipped example (docs/hub.example.yaml) loads with every field")
    func exampleLoads() throws {
        let config = try HubConfigFile.load(path: Self.example)
        let docs = packageRoot + "/docs"
        #expect(config.thing == "hbshub001")
        #expect(config.devices?.map(\.id) == ["hvac"])
        #expect(config.devices?.map(\.kind) == [.furnace])
        #expect(config.devices?.first?.model?.value == docs + "/../fixtures/models/furnace")
        #expect(config.pollInterval == .seconds(10))
        #expect(config.telemetryBatch == .every(.seconds(86_400)))
        let cloud = try #require(config.cloud)
        #expect(cloud.endpoint == BrokerAddress(host: "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", port: 8883))
        #expect(cloud.ca?.value == docs + "/certs/AmazonRootCA1.pem")
        #expect(cloud.certificate?.value == docs + "/certs/hbshub001.cert.pem")
        #expect(cloud.key?.value == docs + "/certs/hbshub001.private.key")
        #expect(config.stateDirectory?.value == "/var/lib/hub")
        #expect(config.controlSocket?.value == "/var/lib/hub/control.sock")
        #expect(try parseConfig("control_socket: ctl.sock").controlSocket?.value.hasSuffix("/ctl.sock") == true, "relative to the file")
        #expect(throws: (any Error).self) { try parseConfig("control_socket: [1, 2]") }
        #expect(config.localBroker == BrokerAddress(host: "127.0.0.1", port: 8883))
        #expect(config.kitIdentity?.managed == true && config.kitIdentity?.validity == .seconds(365 * 86_400)
                && config.kitIdentity?.warning == .seconds(14 * 86_400))
        #expect(config.kits == [HubConfigFile.Kit(id: "washer-kit", kind: .washer, interval: .seconds(10)),
                                HubConfigFile.Kit(id: "fridge-kit", kind: .fridge, interval: .seconds(30))])
        #expect(config.selfHeating == SelfHeating(hts221: 4.0, lps25h: 5.0))
        // Each path remembers its line and field, for errors found when it is used.
        #expect(cloud.key?.origin.description.hasPrefix(Self.example + ":16:") == true, "\(String(describing: cloud.key?.origin))")
        #expect(cloud.key?.origin.description.hasSuffix(": cloud.key") == true)
    }

    @Test("local_broker's identity fields: hostile values name the field and the allowed ones", arguments: [
        ("local_broker: { host: h, identity: tls }", "identity must be managed"),
        ("local_broker: { host: h, identity: [managed] }", "identity"),
        ("local_broker: { host: h, certificate_validity: 30d }", "needs identity: managed"),
        ("local_broker: { host: h, identity: managed, certificate_validity: -1d }", "certificate_validity"),
        ("local_broker: { host: h, identity: managed, certificate_validity: 99999d }", "certificate_validity"),
        ("local_broker: { host: h, identity: managed, certificate_warning: 0s }", "certificate_warning"),
        ("local_broker: { host: h, identity: off, certificate_warning: 1d }", "needs identity: managed"),
    ])
    func identityFields(text: String, message: String) throws {
        do {
            _ = try parseConfig(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".contains(":1:"), "names the line: \(error)")
        }
    }

    @Test("a file may say as little as one field; the rest stays unset for the defaults")
    func minimalFile() throws {
        let config = try parseConfig("thing: hub-7\n")
        #expect(config.thing == "hub-7")
        #expect(config.devices == nil && config.pollInterval == nil && config.telemetryBatch == nil)
        #expect(config.cloud == nil && config.localBroker == nil && config.stateDirectory == nil && config.kits.isEmpty)
        #expect(try parseConfig("telemetry_batch: off").telemetryBatch == .off)
        #expect(try parseConfig("cloud: { host: iot.example.com }").cloud?.endpoint.port == 8883, "the cloud's port defaults to 8883")
        #expect(try parseConfig("local_broker: { host: localhost }").localBroker?.port == 1883, "a local broker's to 1883")
        #expect(try parseConfig("\u{FEFF}thing: bom").thing == "bom", "a byte-order mark is allowed")
    }

    @Test("relative paths resolve against the file's directory, absolute ones stay")
    func relativePaths() throws {
        let text = """
            devices: [{ id: hvac, kind: furnace, model: models/furnace }]
            cloud: { host: h, ca: certs/ca.pem, cert: /abs/c.pem, key: ../keys/k.pem }
            state_dir: state
            """
        let nested = try parseConfig(text, file: "/etc/hub/hub.yaml")
        #expect(nested.devices?.first?.model?.value == "/etc/hub/models/furnace")
        #expect(nested.cloud?.ca?.value == "/etc/hub/certs/ca.pem")
        #expect(nested.cloud?.certificate?.value == "/abs/c.pem")
        #expect(nested.cloud?.key?.value == "/etc/hub/../keys/k.pem")
        #expect(nested.stateDirectory?.value == "/etc/hub/state")
        #expect(try parseConfig(text, file: "hub.yaml").cloud?.ca?.value == "./certs/ca.pem", "a file in the working directory")
        #expect(try parseConfig(text, file: "conf/hub.yaml").cloud?.ca?.value == "conf/certs/ca.pem")
        #expect(try parseConfig(text, file: "/hub.yaml").cloud?.ca?.value == "/certs/ca.pem")
    }

    /// One mistake, where it must be reported, and what the message must say.
    struct BadField: Sendable, CustomTestStringConvertible {
        let yaml: String
        let line: Int
        let field: String
        let says: String
        var testDescription: String { "\(field) at line \(line): \(says)" }
    }

    static let badFields: [BadField] = [
        BadField(yaml: "thing: a/b", line: 1, field: "thing", says: "a thing name is 1...128 letters"),
        BadField(yaml: "thing: [x]", line: 1, field: "thing", says: "expected a single value, found a list"),
        BadField(yaml: "thing: x\nthnig: y", line: 2, field: "thnig", says: "unknown field 'thnig' (did you mean 'thing'?)"),
        BadField(yaml: "thing: x\ncolud: { host: h }", line: 2, field: "colud", says: "(did you mean 'cloud'?)"),
        BadField(yaml: "devices: hvac", line: 1, field: "devices", says: "expected a list"),
        BadField(yaml: "devices: []", line: 1, field: "devices", says: "at least one device"),
        BadField(yaml: "devices:\n  - { id: hvac, kind: furnace }\n  - { id: hvac, kind: washer }", line: 3,
                 field: "devices[1].id", says: "duplicate device id 'hvac'"),
        BadField(yaml: "devices:\n  - { id: Hvac, kind: furnace }", line: 2, field: "devices[0].id", says: "must start with a lowercase letter"),
        BadField(yaml: "devices:\n  - { id: hvac, kind: furnance }", line: 2, field: "devices[0].kind",
                 says: "unknown appliance kind 'furnance' (did you mean 'furnace'?)"),
        BadField(yaml: "devices:\n  - id: hvac", line: 2, field: "devices[0]", says: "missing required field 'kind'"),
        BadField(yaml: "devices:\n  - { id: hvac, kind: furnace, modle: x }", line: 2, field: "devices[0].modle",
                 says: "(did you mean 'model'?)"),
        BadField(yaml: "devices:\n  - { id: hvac, kind: furnace, model: '' }", line: 2, field: "devices[0].model", says: "expected a path"),
        BadField(yaml: "poll_interval: 0s", line: 1, field: "poll_interval", says: "outside the allowed 1s...1h"),
        BadField(yaml: "poll_interval: 2h", line: 1, field: "poll_interval", says: "outside the allowed 1s...1h"),
        BadField(yaml: "poll_interval: -1h", line: 1, field: "poll_interval", says: "expected a number"),
        BadField(yaml: "poll_interval: 90000d", line: 1, field: "poll_interval", says: "longer than the maximum"),
        BadField(yaml: "poll_interval: 10", line: 1, field: "poll_interval", says: "a number needs a unit"),
        BadField(yaml: "telemetry_batch: 8d", line: 1, field: "telemetry_batch", says: "allowed 1s...7d, or off"),
        BadField(yaml: "telemetry_batch: sometimes", line: 1, field: "telemetry_batch", says: "or off"),
        BadField(yaml: "cloud: iot.example.com", line: 1, field: "cloud", says: "expected a mapping"),
        BadField(yaml: "cloud:\n  port: 8883", line: 2, field: "cloud", says: "missing required field 'host'"),
        BadField(yaml: "cloud:\n  hots: h", line: 2, field: "cloud.hots", says: "(did you mean 'host'?)"),
        BadField(yaml: "cloud:\n  host: bad host", line: 2, field: "cloud.host", says: "a host is a name or an IP address"),
        BadField(yaml: "cloud:\n  host: h\n  port: 0", line: 3, field: "cloud.port", says: "within 1...65535"),
        BadField(yaml: "cloud:\n  host: h\n  port: 65536", line: 3, field: "cloud.port", says: "within 1...65535"),
        BadField(yaml: "cloud:\n  host: h\n  port: -1", line: 3, field: "cloud.port", says: "within 1...65535"),
        BadField(yaml: "cloud:\n  host: h\n  port: 99999999999999999999", line: 3, field: "cloud.port", says: "within 1...65535"),
        BadField(yaml: "cloud:\n  host: h\n  port: 8883.5", line: 3, field: "cloud.port", says: "a whole number"),
        BadField(yaml: "cloud:\n  host: h\n  cert: c.pem\n  key: k.pem", line: 3, field: "cloud.cert", says: "needs cloud.ca"),
        BadField(yaml: "cloud:\n  host: h\n  ca: ca.pem\n  cert: c.pem", line: 4, field: "cloud.cert", says: "needs cloud.key"),
        BadField(yaml: "cloud:\n  host: h\n  ca: ca.pem\n  key: k.pem", line: 4, field: "cloud.key", says: "needs cloud.cert"),
        BadField(yaml: "cloud:\n  host: h\n  ca: [a, b]", line: 3, field: "cloud.ca", says: "expected a single value"),
        BadField(yaml: "state_dir: ''", line: 1, field: "state_dir", says: "expected a path"),
        BadField(yaml: "state_dir: { a: 1 }", line: 1, field: "state_dir", says: "expected a single value, found a mapping"),
        BadField(yaml: "local_broker: { host: 127.0.0.1, port: 70000 }", line: 1, field: "local_broker.port", says: "within 1...65535"),
        BadField(yaml: "local_broker:\n  host: 127.0.0.1\n  prot: 1", line: 3, field: "local_broker.prot", says: "(did you mean 'port'?)"),
        BadField(yaml: "kits:\n  - { id: kit, kind: washer }", line: 2, field: "kits", says: "add local_broker"),
        BadField(yaml: "local_broker: { host: h }\nkits:\n  - { id: kit, kind: washer, interval: 0s }", line: 3,
                 field: "kits[0].interval", says: "outside the allowed 1s...1h"),
        BadField(yaml: "local_broker: { host: h }\nkits:\n  - { id: kit, kind: washer }\n  - { id: kit, kind: fridge }", line: 4,
                 field: "kits[1].id", says: "duplicate kit id 'kit'"),
        BadField(yaml: "local_broker: { host: h }\nkits:\n  - { id: kit, kind: toaster }", line: 3, field: "kits[0].kind",
                 says: "unknown appliance kind 'toaster'"),
        BadField(yaml: "local_broker: { host: h }\nkits:\n  - { id: kit, kind: washer, intervall: 1s }", line: 3,
                 field: "kits[0].intervall", says: "(did you mean 'interval'?)"),
        BadField(yaml: "self_heating: 4", line: 1, field: "self_heating", says: "expected a mapping"),
        BadField(yaml: "self_heating:\n  hts221: 31", line: 2, field: "self_heating.hts221", says: "-10"),
        BadField(yaml: "self_heating:\n  lps25h: hot", line: 2, field: "self_heating.lps25h", says: "expected a number"),
        BadField(yaml: "self_heating:\n  hts222: 1", line: 2, field: "self_heating.hts222", says: "(did you mean 'hts221'?)"),
    ]

    @Test("each field's mistake is refused naming file, line and field", arguments: badFields)
    func badField(_ bad: BadField) {
        let file = "/etc/hub/hub.yaml"
        do {
            let config = try parseConfig(bad.yaml, file: file)
            Issue.record("loaded: \(config)")
        } catch {
            #expect(error.file == file)
            #expect(error.line == bad.line, "\(error)")
            #expect(error.field == bad.field, "\(error)")
            #expect(error.description.hasPrefix("\(file):\(bad.line):"), "\(error)")
            #expect(error.description.contains("\(bad.field): "), "\(error)")
            #expect(error.message.contains(bad.says), "\(error)")
        }
    }

    @Test("key material pasted where a path belongs is refused without being echoed")
    func keyMaterialNotEchoed() {
        let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
        for yaml in ["cloud:\n  host: h\n  ca: ca.pem\n  cert: c.pem\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    \(secret)\n    -----END PRIVATE KEY-----\n",
                     "cloud: \"-----BEGIN PRIVATE KEY-----\\n\(secret)\"",
                     "state_dir: [\"-----BEGIN PRIVATE KEY-----\\n\(secret)\"]\n"] {
            do {
                _ = try parseConfig(yaml)
                Issue.record("loaded key material as a path")
            } catch {
                #expect(error.line != nil, "\(error)")
                #expect(!error.description.contains(secret), "\(error)")
                #expect(!error.description.contains("BEGIN"), "\(error)")
            }
        }
    }

    @Test("YAML's own duplicate keys, a list at the top and an empty file are refused")
    func documentShape() {
        #expect(throws: YAMLFileError.self) { try parseConfig("thing: a\nthing: b") }
        do { _ = try parseConfig("thing: a\nthing: b") } catch { #expect(error.line != nil && error.message.contains("duplicate"), "\(error)") }
        do { _ = try parseConfig("- thing\n- devices") } catch { #expect(error.line == 1 && error.message.contains("expected a mapping"), "\(error)") }
        do { _ = try parseConfig("") } catch { #expect(error.message == "empty configuration file") }
        do { _ = try parseConfig("# only a comment\n") } catch { #expect(error.message == "empty configuration file") }
    }

    @Test("hostile input: binary garbage, a huge file, deep nesting, a missing file")
    func hostileInput() throws {
        var random = SeededRandom(seed: 9)
        for number in 0..<200 {
            let bytes = (0..<random.nextInt(in: 1...400)).map { _ in UInt8(random.nextInt(in: 0...255)) }
            do {
                _ = try HubConfigFile.parse(bytes: bytes, file: "garbage.yaml")
                Issue.record("case \(number): garbage loaded")
            } catch {
                #expect(error.file == "garbage.yaml")
                #expect(error.line != nil || error.message == "empty configuration file", "case \(number): \(error)")
            }
        }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let huge = directory + "/huge.yaml"
        try Data(repeating: UInt8(ascii: "#"), count: HubConfigFile.maximumFileBytes + 1).write(to: URL(fileURLWithPath: huge))
        #expect(throws: YAMLFileError(file: huge, line: nil, column: nil, field: nil,
                                      message: "too large (\(HubConfigFile.maximumFileBytes + 1) bytes; at most \(HubConfigFile.maximumFileBytes))")) {
            try HubConfigFile.load(path: huge)
        }
        do { _ = try HubConfigFile.load(path: directory + "/missing.yaml") } catch {
            #expect(error.description.hasPrefix(directory + "/missing.yaml: cannot open:"), "\(error)")
        }
        do { _ = try HubConfigFile.load(path: directory) } catch { #expect(error.message.contains("not a regular file"), "\(error)") }
        for (open, close) in [("[", "]"), ("{a: ", "}"), ("- ", "")] {
            for depth in [100, 100_000] {
                let text = "thing: x\ndevices: " + String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth) + "\n"
                do {
                    _ = try parseConfig(text)
                    Issue.record("nesting \(depth) of \(open) loaded")
                } catch {
                    #expect(error.line != nil, "\(error)")
                }
            }
        }
    }

    @Test("mutated configuration files load within the limits or fail with a located error (Fuzz)")
    func mutations() throws {
        let seeds = [try FileContents.bytes(atPath: Self.example), Array("""
            thing: hub-1
            devices: [{ id: hvac, kind: furnace }, { id: fridge, kind: fridge, model: m }]
            poll_interval: 5s
            telemetry_batch: off
            cloud: { host: 127.0.0.1, port: 1883 }
            local_broker: { host: localhost }
            kits: [{ id: kit, kind: washer }]
            """.utf8)]
        let file = "/etc/hub/fuzz.yaml"
        let tally = Fuzzing.run(seeds: seeds, base: 0xC0F1_6F11, ci: 1_000) { number, bytes in
            do throws(YAMLFileError) {
                Self.checkLimits(try HubConfigFile.parse(bytes: bytes, file: file), case: number)
                return true
            } catch {
                #expect(error.file == file)
                #expect(!error.message.isEmpty)
                #expect(error.line != nil || error.message == "empty configuration file", "case \(number): \(error)")
                return false
            }
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
    }

    /// What a parsed configuration promises the hub.
    static func checkLimits(_ config: HubConfigFile, case number: Int) {
        #expect(config.thing.map(HubConfig.isValidThing) ?? true, "case \(number)")
        if let devices = config.devices {
            #expect(!devices.isEmpty && Set(devices.map(\.id)).count == devices.count, "case \(number)")
        }
        #expect(config.pollInterval.map(HubConfig.pollIntervals.contains) ?? true, "case \(number)")
        if case .every(let interval) = config.telemetryBatch { #expect(TelemetryBatching.intervals.contains(interval), "case \(number)") }
        for address in [config.cloud?.endpoint, config.localBroker].compactMap({ $0 }) {
            #expect(BrokerAddress.ports.contains(address.port) && BrokerAddress.hostProblem(address.host) == nil, "case \(number)")
        }
        #expect(Set(config.kits.map(\.id)).count == config.kits.count, "case \(number)")
        #expect(config.kits.allSatisfy { $0.interval.map(HubConfig.pollIntervals.contains) ?? true }, "case \(number)")
        #expect(config.kits.isEmpty || config.localBroker != nil, "case \(number)")
    }
}
