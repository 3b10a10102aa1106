import Glibc
import HubCore
import HubLive
import Synchronization

/// `hubrig bench kits`: what kit identity costs — enrolling a kit (an EC P-256 key, a
/// request and the authority's signature, each an `openssl` run as `hub kit enroll` does
/// them), and a kit's connection over mutual TLS against a plaintext connection to the
/// same mosquitto in the same run.
///
/// A connection is timed from the client's start to the broker's CONNACK (libmosquitto,
/// as the kits' firmware and the hub's listener use it): TCP, the TLS handshake with both
/// certificates checked against the authority and its revocation list, and MQTT's CONNECT.
/// Plaintext and TLS alternate one connection each, so drift on the machine falls on both.
/// The broker's CPU (from /proc, in blocks of each kind) is what the hub pays per kit
/// connection; the difference of the medians is the handshake's latency.
public enum KitIdentityBenchmark {
    /// One run's figures: every enrolment's and connection's time, the broker's CPU per
    /// connection of each kind (a table quotes their medians).
    public struct Result: Sendable {
        public var enrolMilliseconds: [Double] = []
        public var plainMilliseconds: [Double] = []
        public var tlsMilliseconds: [Double] = []
        public var brokerCPUPlainMilliseconds: Double = 0
        public var brokerCPUTLSMilliseconds: Double = 0
    }

    /// A part of the benchmark did not come up or answer (a connection refused, no CONNACK).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(directory: String, enrolments: Int, connections: Int) throws -> Result {
        precondition(enrolments > 0 && connections > 0)
        var result = Result()
        let clock = ContinuousClock()
        // Certificates are real: their dates are the wall clock's.
        let now = LiveClock().now
        let authority = try KitAuthority.open(stateDirectory: directory, now: now)
        for index in 0..<enrolments {
            let start = clock.now
            _ = try authority.enrol(DeviceID(stringLiteral: "kit\(index)"), validity: KitAuthority.validityDefault, into: directory + "/kits", now: now)
            result.enrolMilliseconds.append(milliseconds(clock.now - start))
        }
        let tlsPort = try LocalMosquitto.freePort()
        let broker = try LocalMosquitto(directory: directory, listener: ["listener \(tlsPort) 127.0.0.1"] + authority.listenerConfiguration)
        defer { broker.stop() }
        guard let pid = broker.pid else { throw Failure(description: "mosquitto did not start") }
        let blocks = 4
        let perBlock = max(1, connections / blocks)
        var cpuPlain = 0.0
        var cpuTLS = 0.0
        for block in 0..<blocks {
            for tls in [false, true] {
                let before = try brokerCPUSeconds(pid)
                for index in 0..<perBlock {
                    let kit = "kit\((block * perBlock + index) % enrolments)"
                    let files = tls ? MQTTSettings.TLSFiles(caFile: authority.path("ca.crt"), certificateFile: directory + "/kits/\(kit).crt",
                                                            keyFile: directory + "/kits/\(kit).key") : nil
                    let elapsed = try connect(port: tls ? tlsPort : broker.port, clientID: "\(kit)-\(tls ? "tls" : "plain")-\(index)", tls: files)
                    if tls { result.tlsMilliseconds.append(elapsed) } else { result.plainMilliseconds.append(elapsed) }
                }
                let used = try brokerCPUSeconds(pid) - before
                if tls { cpuTLS += used } else { cpuPlain += used }
            }
        }
        result.brokerCPUPlainMilliseconds = cpuPlain * 1000 / Double(blocks * perBlock)
        result.brokerCPUTLSMilliseconds = cpuTLS * 1000 / Double(blocks * perBlock)
        return result
    }

    /// One client's start to its CONNACK, in milliseconds.
    static func connect(port: Int, clientID: String, tls: MQTTSettings.TLSFiles?) throws -> Double {
        let connected = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        let settings = MQTTSettings(host: "127.0.0.1", port: port, clientID: clientID, tls: tls)
        let clock = ContinuousClock()
        let start = clock.now
        let client = try MosquittoClient(settings: settings, random: SeededRandom(seed: 1)) { event in
            switch event {
            case .connected: connected.store(true, ordering: .releasing)
            case .connectFailed(let reason), .disconnected(let reason): failure.withLock { $0 = $0 ?? reason }
            default: break
            }
        }
        client.start()
        defer { client.stop() }
        while !connected.load(ordering: .acquiring) {
            if let reason = failure.withLock({ $0 }) { throw Failure(description: "\(clientID): \(reason)") }
            guard clock.now - start < .seconds(10) else { throw Failure(description: "\(clientID): no CONNACK within 10 s") }
            sched_yield()
        }
        return milliseconds(clock.now - start)
    }

    /// The broker's user and system CPU time so far.
    static func brokerCPUSeconds(_ pid: pid_t) throws -> Double {
        guard let seconds = ProcessFacts.cpuSeconds(of: pid) else { throw Failure(description: "/proc/\(pid)/stat: unreadable") }
        return seconds
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

}
