import Foundation
import HubCore
import HubKernel
@testable import HubLive
import HubStore
import Testing

/// The hub's kit authority in a scratch state directory, a real mosquitto configured as
/// docs/config.md says, and the hub's kit listener on it with its own certificate. Kits
/// are `mosquitto_pub` (not our code) with the files `hub kit enroll` would hand out.
final class KitBrokerRig {
    let directory: String
    let authority: KitAuthority
    var broker: LocalMosquitto
    let inbox = CompletionInbox()
    let listener: LocalKitListener
    let now = Instant(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9))

    /// `prepare` runs once the authority exists, before the broker starts (and reads its revocation list).
    init(prepare: (KitAuthority, String, Instant) throws -> Void = { _, _, _ in }) throws {
        directory = try makeScratchDirectory()
        authority = try KitAuthority.open(stateDirectory: directory, now: now)
        try prepare(authority, directory, now)
        broker = try LocalMosquitto(directory: directory, listener: authority.listenerConfiguration, anonymous: false)
        let tls = authority.listenerTLS
        listener = try LocalKitListener(host: "127.0.0.1", port: broker.port, clientID: "hub-kits",
                                        tls: MQTTSettings.TLSFiles(caFile: tls.caFile, certificateFile: tls.certificateFile, keyFile: tls.keyFile),
                                        random: SeededRandom(seed: 1), clock: LiveClock(), completions: inbox)
        listener.start()
        let deadline = ContinuousClock.now + .seconds(10)
        while !listener.hasConnected, ContinuousClock.now < deadline { usleep(10_000) }
        usleep(100_000)  // its subscription goes out with the connection
    }

    deinit {
        listener.stop()
        broker.stop()
        removeScratchDirectory(directory)
    }

    /// `mosquitto_pub` of `payload` on `topic` as the kit whose files are `kit` in
    /// `directory/kits` (nil: no certificate); its exit status.
    func publish(as kit: String?, topic: String, payload: String, files: String? = nil) throws -> Int32 {
        let folder = files ?? directory + "/kits"
        var arguments = ["-h", "127.0.0.1", "-p", String(broker.port), "--cafile", authority.path("ca.crt"), "-t", topic, "-m", payload, "-q", "1"]
        if let kit { arguments += ["--cert", folder + "/\(kit).crt", "--key", folder + "/\(kit).key"] }
        let process = try ChildProcess("/usr/bin/mosquitto_pub", arguments, output: directory + "/pub.log")
        return process.wait(seconds: 20) ?? -1
    }

    /// The kit messages the listener received within `wait`, once `count` have come.
    func received(count: Int, wait: Duration = .seconds(5)) -> [(topic: String, payload: String)] {
        var messages: [(String, String)] = []
        let deadline = ContinuousClock.now + wait
        while messages.count < count, ContinuousClock.now < deadline {
            inbox.wait(.milliseconds(50))
            for (completion, _) in inbox.take() {
                if case .kitMessage(let topic, let payload) = completion { messages.append((topic, String(decoding: payload, as: UTF8.self))) }
            }
        }
        return messages
    }

    func reading(_ device: String) -> String {
        #"{"timestamp": \#(JSONText.timestamp(now, decimals: 3)), "device_id": "\#(device)", "temperature": -18.5, "humidity": 60}"#
    }
}

@Suite("Kit identity on a real mosquitto: only enrolled kits, each on its own topic, none revoked or expired", .serialized)
struct KitIdentityBrokerTests {
    @Test("an enrolled kit's reading reaches the hub's listener and the bridge takes it")
    func enrolledAccepted() throws {
        let rig = try KitBrokerRig()
        _ = try rig.authority.enrol("freezer", validity: .seconds(86_400), into: rig.directory + "/kits", now: rig.now)
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("freezer")) == 0)
        let messages = rig.received(count: 1)
        #expect(messages.map(\.topic) == [KitBridgeComponent.topic("freezer")])
        var bridge = KitBridgeComponent(kits: [.init(id: "freezer", kind: .fridge, interval: .seconds(30))])
        _ = bridge.handle(.start, now: rig.now)
        _ = bridge.receive(topic: messages[0].topic, payload: Array(messages[0].payload.utf8), now: rig.now)
        #expect(bridge.accepted == 1)
    }

    @Test("no certificate, a foreign CA's, a revoked and an expired certificate are each refused at the handshake; nothing reaches the hub")
    func refusals() throws {
        let rig = try KitBrokerRig { authority, directory, now in
            let kits = directory + "/kits"
            _ = try authority.enrol("freezer", validity: .seconds(86_400), into: kits, now: now)
            let stolen = try authority.enrol("stolen", validity: .seconds(86_400), into: kits, now: now)
            try authority.revoke(serial: stolen.serial)
            _ = try authority.enrol("old", validity: .seconds(3600), into: kits, now: now, from: now - .seconds(7200))
            #expect(mkdir(directory + "/foreign", 0o700) == 0)
            _ = try LocalCertificates.make(in: directory + "/foreign", clients: ["intruder"])
        }
        let foreign = LocalCertificates(directory: rig.directory + "/foreign")

        #expect(try rig.publish(as: nil, topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("freezer")) != 0)
        #expect(try rig.publish(as: "intruder", topic: KitBridgeComponent.topic("intruder"), payload: rig.reading("intruder"), files: foreign.directory) != 0)
        #expect(try rig.publish(as: "stolen", topic: KitBridgeComponent.topic("stolen"), payload: rig.reading("stolen")) != 0)
        #expect(try rig.publish(as: "old", topic: KitBridgeComponent.topic("old"), payload: rig.reading("old")) != 0)
        // A valid kit last: once its message is in, anything sent before it would be too.
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("freezer")) == 0)
        #expect(rig.received(count: 2, wait: .seconds(3)).map(\.topic) == [KitBridgeComponent.topic("freezer")])
        let log = try String(contentsOfFile: rig.directory + "/mosquitto-\(rig.broker.port).log", encoding: .utf8)
        #expect(log.contains("certificate verify failed"), "the broker's own words for the refusals")
    }

    @Test("a kit publishing on another kit's topic is denied by the broker; claiming another kit's id on its own is rejected by the bridge")
    func impersonation() throws {
        let rig = try KitBrokerRig()
        _ = try rig.authority.enrol("freezer", validity: .seconds(86_400), into: rig.directory + "/kits", now: rig.now)
        _ = try rig.authority.enrol("washer", validity: .seconds(86_400), into: rig.directory + "/kits", now: rig.now)
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("washer"), payload: rig.reading("washer")) == 0,
                "MQTT 3.1.1 has no refusal for a publish: the broker drops it")
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("washer")) == 0)
        #expect(try rig.publish(as: "washer", topic: KitBridgeComponent.topic("washer"), payload: rig.reading("washer")) == 0)
        let messages = rig.received(count: 2)
        #expect(messages.map(\.topic) == [KitBridgeComponent.topic("freezer"), KitBridgeComponent.topic("washer")])
        var bridge = KitBridgeComponent(kits: [.init(id: "freezer", kind: .fridge, interval: .seconds(30)), .init(id: "washer", kind: .fridge, interval: .seconds(30))])
        _ = bridge.handle(.start, now: rig.now)
        for message in messages { _ = bridge.receive(topic: message.topic, payload: Array(message.payload.utf8), now: rig.now) }
        #expect(bridge.rejectedCount(.impersonation) == 1)
        #expect(bridge.accepted == 1)
    }

    @Test("a revoked kit's open connection lasts until the broker restarts with the new list; then it is refused")
    func revocationNeedsRestart() throws {
        let rig = try KitBrokerRig()
        let kits = rig.directory + "/kits"
        let freezer = try rig.authority.enrol("freezer", validity: .seconds(86_400), into: kits, now: rig.now)
        try rig.authority.revoke(serial: freezer.serial)
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("freezer")) == 0,
                "the broker read its list when it started, before the revocation")
        #expect(rig.received(count: 1).count == 1)
        let port = rig.broker.port
        rig.broker.stop()
        rig.broker = try LocalMosquitto(directory: rig.directory, listener: rig.authority.listenerConfiguration, port: port, anonymous: false)
        #expect(try rig.publish(as: "freezer", topic: KitBridgeComponent.topic("freezer"), payload: rig.reading("freezer")) != 0)
    }
}

@Suite("The kit enrolment record")
struct KitEnrolmentStoreTests {
    @Test("enrolments and revocations survive reopening; each device's latest certificate is the current one")
    func durable() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let t0 = Instant(secondsSinceEpoch: 1_768_435_200)
        do {
            let store = try KitEnrolmentStore(path: directory + "/kits.sqlite")
            try store.enrol(KitCertificate(device: "freezer", serial: "1000", notAfter: t0 + .seconds(100)), at: t0)
            try store.enrol(KitCertificate(device: "washer", serial: "1001", notAfter: t0 + .seconds(100)), at: t0 + .seconds(1))
            try store.enrol(KitCertificate(device: "freezer", serial: "1002", notAfter: t0 + .seconds(200)), at: t0 + .seconds(2))
            #expect(try store.revoke("washer", at: t0 + .seconds(3)).map(\.serial) == ["1001"])
            #expect(try store.revoke("washer", at: t0 + .seconds(4)).isEmpty, "nothing left in force")
        }
        let store = try KitEnrolmentStore(path: directory + "/kits.sqlite")
        #expect(try store.certificates().map(\.serial) == ["1000", "1001", "1002"])
        #expect(try store.current().map { "\($0.device) \($0.serial) \($0.revokedAt == nil ? "valid" : "revoked")" } == ["washer 1001 revoked", "freezer 1002 valid"])
        var status = stat()
        #expect(stat(directory + "/kits.sqlite", &status) == 0 && status.st_mode & 0o077 == 0, "owner-only")
    }
}

@Suite("The hub's own kits' broker")
struct ManagedKitBrokerTests {
    @Test("a broker an earlier hub left running (killed outright) is ended by the next start, which then serves the port itself")
    func staleBrokerEnded() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let now = Instant(nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1e9))
        let authority = try KitAuthority.open(stateDirectory: directory, now: now)
        let port = try LocalMosquitto.freePort()
        let first = try ManagedKitBroker(authority: authority, stateDirectory: directory, host: "127.0.0.1", port: port)
        let stale = try #require(first.pid)
        // The first hub is gone without stopping its broker; a second starts on the same state.
        let second = try ManagedKitBroker(authority: authority, stateDirectory: directory, host: "127.0.0.1", port: port)
        let fresh = try #require(second.pid)
        #expect(fresh != stale)
        #expect(ProcessFacts.commandLine(of: stale) == nil || ProcessFacts.isGone(stale), "the stale broker is gone")
        #expect(ProcessFacts.commandLine(of: fresh)?.contains("mosquitto") == true, "the new one runs: it got the port")
        second.stop()
        withExtendedLifetime(first) {}
    }

    @Test("a pid file naming some other process ends nothing")
    func foreignPidFileIgnored() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let sleeper = try ChildProcess("/bin/sleep", ["30"], output: directory + "/sleep.log")
        defer { sleeper.killNow() }
        try "\(sleeper.pid)\n".write(toFile: directory + "/mosquitto.pid", atomically: true, encoding: .utf8)
        ManagedKitBroker.endStale(pidFile: directory + "/mosquitto.pid", naming: directory)
        #expect(ProcessFacts.commandLine(of: sleeper.pid)?.contains("sleep") == true)
        ManagedKitBroker.endStale(pidFile: directory + "/garbage", naming: directory)
        try "not a pid\n".write(toFile: directory + "/mosquitto.pid", atomically: true, encoding: .utf8)
        ManagedKitBroker.endStale(pidFile: directory + "/mosquitto.pid", naming: directory)
    }
}

@Suite("Child processes")
struct ChildProcessErrorTests {
    @Test("a log in a missing directory is named as what failed, not the program")
    func missingLogDirectory() throws {
        do {
            _ = try ChildProcess("/usr/bin/openssl", ["version"], output: "/nonexistent-hubrig-dir/openssl.log")
            Issue.record("started")
        } catch {
            #expect("\(error)".contains("its log /nonexistent-hubrig-dir/openssl.log: No such file or directory"), "\(error)")
        }
        do {
            _ = try ChildProcess("/no/such/program", [], output: "/dev/null")
            Issue.record("started")
        } catch {
            #expect("\(error)" == "cannot start /no/such/program: No such file or directory", "\(error)")
        }
    }
}
