import Foundation
import HubCore
import HubKernel
import HubLive
import Testing

@Suite("MQTT cloud port against a real mosquitto", .serialized)
struct MQTTCloudPortTests {
    let clock = LiveClock()

    func message(_ index: Int) -> CloudMessage {
        CloudMessage(topic: .cloudTelemetry("hub-1"), messageID: "hub-1-\(index)", payload: Array("{\"n\": \(index)}".utf8))
    }

    func port(_ settings: MQTTSettings, _ inbox: CompletionInbox) throws -> MQTTCloudPort {
        try MQTTCloudPort(settings: settings, random: SeededRandom(seed: 1), clock: clock, completions: inbox)
    }

    /// `mosquitto_sub` (not our code) subscribed at QoS 1 to `topic`, printing `count` messages
    /// with their topics into `output`.
    /// `seconds` bounds its whole life (`-W`), counted from its start, not from the first message.
    func subscriber(port: Int, topic: String, count: Int, output: String, seconds: Int = 20) throws -> ChildProcess {
        let process = try ChildProcess("/usr/bin/mosquitto_sub",
                                       ["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-q", "1", "-C", String(count), "-W", String(seconds), "-v"],
                                       output: output)
        usleep(400_000)  // its SUBSCRIBE reaches the broker before we publish
        return process
    }

    @Test("every message is published at QoS 1 and acknowledged once its PUBACK arrives; mosquitto_sub receives each")
    func publishesAndAcknowledges() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let broker = try LocalMosquitto(directory: directory)
        defer { broker.stop() }
        let received = directory + "/received.txt"
        let sub = try subscriber(port: broker.port, topic: "hbs/hub-1/#", count: 300, output: received)
        let inbox = CompletionInbox()
        let cloud = try port(.hub(thing: "hub-1", host: "127.0.0.1", port: broker.port), inbox)
        cloud.start()
        defer { cloud.stop() }
        let up = collect(inbox, seconds: 10) { $0.contains(.connection(up: true, reason: "connected to 127.0.0.1:\(broker.port)")) }
        #expect(up != nil)
        for index in 0..<300 { cloud.send(message(index), at: clock.now) }
        let acks = collect(inbox, seconds: 20) { seen in seen.filter { if case .acknowledged = $0 { true } else { false } }.count == 300 }
        let acknowledged = Set((acks ?? []).compactMap { if case .acknowledged(let id) = $0 { id } else { nil } })
        #expect(acknowledged == Set((0..<300).map { "hub-1-\($0)" }))
        #expect(sub.wait(seconds: 25) == 0, "mosquitto_sub got all 300 and exited 0")
        let lines = try String(contentsOfFile: received, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == (0..<300).map { "\(Topic.cloudTelemetry("hub-1").name) {\"n\": \($0)}" }, "in order, on the telemetry topic")
    }

    @Test("handed far more messages than the wire window, the port sends the rest as PUBACKs free it: all acknowledged, mosquitto_sub receives each in order")
    func queuesBeyondTheWireWindow() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        // mosquitto queues at most 1,000 messages for a subscriber behind on its PUBACKs and
        // drops the rest; on a loaded machine mosquitto_sub falls that far behind (it got 1,020
        // of 2,000 once). The test judges the hub's port, so the broker may queue them all.
        let broker = try LocalMosquitto(directory: directory, listener: ["max_queued_messages 0"])
        defer { broker.stop() }
        let received = directory + "/received.txt"
        // Its clock runs from its start: on a loaded machine the connection and 2,000 publishes
        // through a window of 10 can take longer than the default 20 s.
        let sub = try subscriber(port: broker.port, topic: "hbs/hub-1/#", count: 2_000, output: received, seconds: 90)
        let inbox = CompletionInbox()
        var settings = MQTTSettings.hub(thing: "hub-1", host: "127.0.0.1", port: broker.port)
        settings.inflightMax = 10
        let cloud = try port(settings, inbox)
        cloud.start()
        defer { cloud.stop() }
        #expect(collect(inbox, seconds: 10) { $0.contains(.connection(up: true, reason: "connected to 127.0.0.1:\(broker.port)")) } != nil)
        for index in 0..<2_000 { cloud.send(message(index), at: clock.now) }
        let acks = collect(inbox, seconds: 30) { seen in seen.filter { if case .acknowledged = $0 { true } else { false } }.count == 2_000 }
        let acknowledged = (acks ?? []).compactMap { if case .acknowledged(let id) = $0 { id } else { nil } }
        #expect(acknowledged == (0..<2_000).map { "hub-1-\($0)" }, "each acknowledged once, in the order sent")
        #expect(sub.wait(seconds: 90) == 0, "mosquitto_sub got all 2,000 and exited 0")
        let lines = try String(contentsOfFile: received, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == (0..<2_000).map { "\(Topic.cloudTelemetry("hub-1").name) {\"n\": \($0)}" }, "in order")
    }

    @Test("with no broker the port reports the connection down with the reason, and comes up when the broker starts")
    func reconnectsWhenTheBrokerComes() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let port = try LocalMosquitto.freePort()
        var settings = MQTTSettings.hub(thing: "hub-1", host: "127.0.0.1", port: port)
        settings.reconnectInitial = .milliseconds(100)
        settings.reconnectMax = .milliseconds(400)
        let inbox = CompletionInbox()
        let cloud = try self.port(settings, inbox)
        cloud.start()
        defer { cloud.stop() }
        let down = collect(inbox, seconds: 5) { $0.contains { if case .connection(false, let reason) = $0 { reason.contains("Connection refused") } else { false } } }
        #expect(down != nil, "a refused TCP connection is reported with its reason")
        let broker = try LocalMosquitto(directory: directory, port: port)
        defer { broker.stop() }
        #expect(collect(inbox, seconds: 5) { $0.contains(.connection(up: true, reason: "connected to 127.0.0.1:\(port)")) } != nil)
        cloud.send(message(1), at: clock.now)
        #expect(collect(inbox, seconds: 5) { $0.contains(.acknowledged(messageID: "hub-1-1")) } != nil)
    }

    /// A mosquitto requiring client certificates of CA `ca`, its server certificate signed by
    /// `serverCA` (`ca`, or `rogue-ca` for an impostor), and the hub's client certificate.
    func mutualTLSBroker(in directory: String, serverCA: String) throws -> (LocalCertificates, LocalMosquitto, MQTTSettings.TLSFiles) {
        let certificates = LocalCertificates(directory: directory)
        try certificates.makeAuthority("ca")
        try certificates.makeAuthority("rogue-ca")
        try certificates.makeCertificate("server", commonName: "localhost", ca: serverCA, serverAddress: true)
        try certificates.makeCertificate("hub", commonName: "hub-1", ca: "ca")
        let broker = try LocalMosquitto(directory: directory, listener: certificates.mutualTLSListener)
        return (certificates, broker, MQTTSettings.TLSFiles(caFile: certificates.path("ca.crt"), certificateFile: certificates.path("hub.crt"),
                                                             keyFile: certificates.path("hub.key")))
    }

    @Test("mutual TLS with openssl-made certificates: the hub's certificate gets in; plaintext and a foreign certificate are refused with a reason")
    func mutualTLS() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let (certificates, broker, tls) = try mutualTLSBroker(in: directory, serverCA: "ca")
        defer { broker.stop() }
        try certificates.makeCertificate("intruder", commonName: "hub-1", ca: "rogue-ca")

        let inbox = CompletionInbox()
        let cloud = try port(.hub(thing: "hub-1", host: "127.0.0.1", port: broker.port, tls: tls), inbox)
        cloud.start()
        #expect(collect(inbox, seconds: 10) { $0.contains(.connection(up: true, reason: "connected to 127.0.0.1:\(broker.port)")) } != nil)
        cloud.send(message(7), at: clock.now)
        #expect(collect(inbox, seconds: 10) { $0.contains(.acknowledged(messageID: "hub-1-7")) } != nil)
        cloud.stop()

        for (name, settingsTLS) in [("plaintext", nil),
                                    ("foreign certificate", MQTTSettings.TLSFiles(caFile: certificates.path("ca.crt"),
                                                                                  certificateFile: certificates.path("intruder.crt"),
                                                                                  keyFile: certificates.path("intruder.key")))] {
            let refusedInbox = CompletionInbox()
            let refused = try port(.hub(thing: "intruder", host: "127.0.0.1", port: broker.port, tls: settingsTLS), refusedInbox)
            refused.start()
            let seen = collect(refusedInbox, seconds: 10) { $0.contains { if case .connection(false, _) = $0 { true } else { false } } }
            refused.stop()
            #expect(seen != nil, "\(name) is refused")
            #expect(!(seen ?? []).contains { if case .connection(true, _) = $0 { true } else { false } }, "\(name) never gets in")
            let reason = (seen ?? []).compactMap { if case .connection(false, let reason) = $0 { reason } else { nil } }.first ?? ""
            #expect(reason.contains("127.0.0.1:\(broker.port)"), "the reason names the broker: \(reason)")
            #expect(!reason.contains(".key"), "no key material or key path in the reason: \(reason)")
        }
    }

    @Test("an endpoint whose certificate another CA signed (an impostor) is refused: the reason says the certificate did not verify")
    func impostorServer() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        // The impostor trusts the hub's CA for clients, but presents a server certificate the hub's CA never signed.
        let (_, broker, tls) = try mutualTLSBroker(in: directory, serverCA: "rogue-ca")
        defer { broker.stop() }
        let inbox = CompletionInbox()
        let cloud = try port(.hub(thing: "hub-1", host: "127.0.0.1", port: broker.port, tls: tls), inbox)
        cloud.start()
        let seen = collect(inbox, seconds: 10) { $0.contains { if case .connection(false, _) = $0 { true } else { false } } }
        cloud.stop()
        #expect(!(seen ?? []).contains { if case .connection(true, _) = $0 { true } else { false } }, "the hub never talks to an impostor")
        let reason = (seen ?? []).compactMap { if case .connection(false, let reason) = $0 { reason } else { nil } }.first ?? ""
        #expect(reason.contains("certificate verify failed"), "\(reason)")
        #expect(UplinkComponent.healthState(forConnectionFailure: reason) == .failed)
    }

    @Test("a missing CA file is a clear error before anything connects")
    func missingCAFile() {
        #expect(throws: MQTTError.self) {
            _ = try port(.hub(thing: "hub-1", host: "127.0.0.1", port: 1, tls: .init(caFile: "/nonexistent/ca.crt")), CompletionInbox())
        }
    }
}

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test("delays double from the initial one up to the maximum, each with jitter in [½, 1] of its ceiling, and a connection resets them")
    func doublingWithJitter() {
        var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(60), random: SeededRandom(seed: 3))
        let ceilings: [Int64] = [1, 2, 4, 8, 16, 32, 60, 60, 60]
        var delays: [Duration] = []
        for ceiling in ceilings {
            let delay = backoff.nextDelay()
            #expect(delay >= .seconds(ceiling) / 2 && delay <= .seconds(ceiling), "\(delay) within [\(ceiling)/2, \(ceiling)] s")
            delays.append(delay)
        }
        #expect(Set(delays).count == delays.count, "jitter: no two delays alike")
        backoff.reset()
        #expect(backoff.nextDelay() <= .seconds(1))
        var again = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(60), random: SeededRandom(seed: 3))
        #expect((0..<ceilings.count).map { _ in again.nextDelay() } == delays, "the same seed gives the same delays")
        for _ in 0..<1000 { _ = again.nextDelay() }
        #expect(again.nextDelay() <= .seconds(60), "no overflow after many failures")
    }
}
