import Foundation
import HubCore
import HubKernel
import HubLive
import Testing

/// A scratch directory with a real mosquitto on a free loopback port, and the `hubrig`
/// executable to run a live simulated hub against it.
final class BrokerRig {
    let hubrig: String
    let directory: String
    let broker: LocalMosquitto

    init() throws {
        hubrig = try LiveHubEndToEndTests.executable("hubrig")
        directory = try makeScratchDirectory()
        broker = try LocalMosquitto(directory: directory)
    }

    deinit {
        broker.stop()
        removeScratchDirectory(directory)
    }

    var port: String { String(broker.port) }

    /// `hubrig sim run` at a 1 s poll against this broker, with `arguments` added.
    func hub(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(hubrig, ["sim", "run", "--poll", "1s", "--models", directory + "/none", "--state-dir", directory + "/state",
                                  "--event-log", directory + "/events.jsonl"] + arguments,
                         output: directory + "/hub.log")
    }

    /// `hubrig sim run` publishing to this broker as its cloud.
    func cloudHub(_ arguments: [String]) throws -> ChildProcess {
        try hub(["--cloud-host", "127.0.0.1", "--cloud-port", port] + arguments)
    }
}

@Suite("Telemetry batches over a real mosquitto", .serialized)
struct TelemetryBatchBrokerTests {
    /// Hex digits back to bytes (what `mosquitto_sub -F %x` prints for a payload).
    static func bytes(hex: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    @Test("the live hub's batches reach mosquitto_sub (not our code) intact: every reading's id once, in order, inside zlib batches")
    func batchesThroughMosquitto() throws {
        let rig = try BrokerRig()
        let received = rig.directory + "/sink.txt"
        let sink = try ChildProcess("/usr/bin/mosquitto_sub",
                                    ["-h", "127.0.0.1", "-p", rig.port, "-t", "hbs/hbshub001/telemetry", "-q", "1", "-F", "%x"],
                                    output: received)
        defer { sink.terminate() }
        usleep(300_000)
        // Two kits polled every second at 20× for 2 minutes of hub time: batches every 10 s.
        let hub = try rig.cloudHub(["--time-scale", "20", "--duration", "2m", "--device", "hvac:furnace", "--device", "kitchen:fridge",
                                    "--telemetry-batch", "10s"])
        #expect(hub.wait(seconds: 30) == 0)
        usleep(500_000)
        var ids: [String] = []
        var batches = 0
        for line in try String(contentsOfFile: received, encoding: .utf8).split(separator: "\n") {
            let payload = try #require(Self.bytes(hex: line), "hex from mosquitto_sub")
            let (batch, envelopes) = try TelemetryBatch.decode(payload)
            #expect(envelopes.allSatisfy { if case .array(let readings)? = $0["readings"] { readings.count == 1 } else { false } })
            ids += batch.messageIDs
            batches += 1
        }
        #expect(batches >= 10, "about one batch per 10 s of hub time: \(batches)")
        let sequences = ids.compactMap { Int64($0.split(separator: "-").last ?? "") }
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count, "in order, once each")
        #expect(ids.count >= 200, "two kits for 2 minutes at 1 s, less the last batch still collecting: \(ids.count)")
    }
}

@Suite("hubrig cloud sink against a real mosquitto", .serialized)
struct CloudSinkTests {
    @Test("the sink receives a live hub's batches, alerts and health and finds nothing missing; --expect-complete passes")
    func sinkSeesEverything() throws {
        let rig = try BrokerRig()
        let report = rig.directory + "/report.json"
        let sink = try ChildProcess(rig.hubrig, ["cloud", "sink", "--cloud-host", "127.0.0.1", "--cloud-port", rig.port,
                                                 "--duration", "12s", "--expect-complete", "--json"], output: report)
        usleep(500_000)
        let hub = try rig.cloudHub(["--time-scale", "20", "--duration", "2m", "--device", "hvac:furnace", "--telemetry-batch", "5s"])
        #expect(hub.wait(seconds: 30) == 0)
        #expect(sink.wait(seconds: 20) == 0, "nothing missing, out of order or unreadable")
        let text = try String(contentsOfFile: report, encoding: .utf8)
        #expect(text.contains(#""duplicates": 0, "missing": 0, "out_of_order": 0, "unreadable": 0"#), "\(text)")
        #expect(text.contains(#""lowest": 1,"#), "from the hub's first message: \(text)")
    }

    @Test("without a broker the sink says it never connected and exits 2")
    func noBroker() throws {
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let port = try LocalMosquitto.freePort()
        let sink = try ChildProcess(hubrig, ["cloud", "sink", "--cloud-host", "127.0.0.1", "--cloud-port", String(port), "--duration", "1s"],
                                    output: directory + "/out.txt")
        #expect(sink.wait(seconds: 10) == 2 << 8, "exit status 2 (a wait status holds it in its second byte)")
    }
}

@Suite("Monitoring kits through a real local mosquitto", .serialized)
struct LocalKitTests {
    @Test("readings a kit publishes with mosquitto_pub reach the hub's bus; garbage and strangers are rejected with reasons")
    func kitThroughMosquitto() throws {
        let rig = try BrokerRig()
        let directory = rig.directory
        let broker = rig.broker
        let events = directory + "/events.jsonl"
        let hub = try rig.hub(["--duration", "6s", "--kit", "garage:fridge:1s", "--local-broker", "127.0.0.1:\(rig.port)"])
        usleep(1_500_000)  // the hub subscribes
        let now = Date().timeIntervalSince1970
        func publish(_ topic: String, _ payload: String) throws {
            let process = try ChildProcess("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", String(broker.port), "-q", "1", "-t", topic, "-m", payload],
                                           output: directory + "/pub.log")
            #expect(process.wait(seconds: 5) == 0)
        }
        for n in 0..<3 {
            try publish("hbs/kits/garage/telemetry", #"{"timestamp": \#(now + Double(n) / 10), "device_id": "garage", "temperature": -17.5, "humidity": 71}"#)
        }
        try publish("hbs/kits/garage/telemetry", #"{"timestamp": "#)
        try publish("hbs/kits/attic/telemetry", #"{"timestamp": \#(now), "device_id": "attic", "temperature": 30}"#)
        try publish("hbs/kits/garage/telemetry", #"{"timestamp": \#(now + 1), "device_id": "garage", "temperature": 900}"#)
        #expect(hub.wait(seconds: 20) == 0)
        let log = try String(contentsOfFile: events, encoding: .utf8)
        let accepted = log.split(separator: "\n").filter { $0.contains(#""topic": "dt/local/sensor/garage", "from": "kit-bridge""#) }
        #expect(accepted.count == 3, "\(accepted)")
        #expect(log.contains("garage: rejected (malformed)"))
        #expect(log.contains("unknown kit: rejected (unknown topic)"))
        #expect(log.contains("garage: rejected (implausible value): temperature 900.0"))
    }
}

@Suite("Messages from the cloud through a real mosquitto", .serialized)
struct InboundCloudTests {
    @Test("garbage and a deployment published by mosquitto_pub to a hub without --artifacts are each answered rejected, by id")
    func inboundThroughMosquitto() throws {
        let rig = try BrokerRig()
        let hub = try rig.cloudHub(["--duration", "5s", "--device", "hvac:furnace"])
        usleep(2_000_000)  // connected and subscribed
        for message in ["\u{1}garbage", #"{"deployment_id": "d1", "components": {}}"#] {
            let publish = try ChildProcess("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", rig.port, "-q", "1", "-t", "hbs/hbshub001/deployments",
                                                                       "-m", message], output: rig.directory + "/pub.log")
            #expect(publish.wait(seconds: 5) == 0)
        }
        #expect(hub.wait(seconds: 20) == 0)
        let log = try String(contentsOfFile: rig.directory + "/events.jsonl", encoding: .utf8)
        let statuses = log.split(separator: "\n").filter { $0.contains(#""topic": "hbs/deployments/status""#) }
        #expect(statuses.count == 2, "\(log.suffix(2000))")
        #expect(statuses.first?.contains(#""deployment_id": "unknown""#) == true)
        #expect(statuses.last?.contains(#""deployment_id": "d1""#) == true)
        #expect(statuses.allSatisfy { $0.contains(#""state": "rejected""#) && $0.contains("this hub takes no deployments") })
    }
}
