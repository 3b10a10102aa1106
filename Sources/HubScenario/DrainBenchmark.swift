import Glibc
import HubCore
import HubKernel
import HubLive
import HubStore

/// `hubrig bench drain`: the uplink draining a durable backlog to a real mosquitto at QoS 1,
/// beside libmosquitto's own `mosquitto_pub -q 1 -l` publishing the same payloads to the
/// same broker in the same run.
///
/// `mosquitto_pub -l` (2.0.11, and upstream still) stops at the first PUBACK carrying its
/// last message's 16-bit id: given more than 65,535 lines it disconnects once the ids wrap
/// (given 100,000 lines, after about 34,500 messages; the rest are never sent). So it gets
/// the backlog in runs of at most `pubLinesMax` lines, one process after another,
/// timed together: every message is delivered, as the uplink's are.
///
/// The backlog is committed to an outbox file first (not timed); the drain is the uplink
/// component reading it back a window at a time, publishing through `MQTTCloudPort`, and
/// handling each PUBACK (the acknowledged rows deleted in batches) until nothing is
/// unacknowledged — the path a hub takes after an outage.
public enum DrainBenchmark {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Messages the uplink has handed to the port and not yet seen acknowledged: the wire
    /// window plus what libmosquitto queues behind it, which its thread sends as PUBACKs free
    /// the window, without waiting for the hub.
    public static let uplinkInflightMax = 1000
    /// Messages on the wire awaiting PUBACK (libmosquitto's window; the live hub's default).
    /// libmosquitto walks its list of in-flight messages on every publish and PUBACK, so a
    /// wire window of 1,000 cost more than it gained.
    public static let wireInflightMax = 100
    /// Lines per `mosquitto_pub -l` process: below its 16-bit message ids' wrap.
    public static let pubLinesMax = 50_000

    /// Messages per second for draining `count` committed messages to `broker`.
    public static func drain(count: Int, directory: String, brokerPort: Int) throws -> Double {
        let path = directory + "/drain-\(count)-\(getpid()).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let outbox = try SQLiteOutboxStore(path: path, limits: OutboxLimits(countMax: count * 2, hardCountMax: count * 2))
        try OutboxBenchmark.fill(outbox, count: count, batch: 1000)
        let clock = LiveClock()
        let inbox = CompletionInbox()
        var settings = MQTTSettings(host: "127.0.0.1", port: brokerPort, clientID: "bench-drain-\(getpid())-\(count)")
        settings.inflightMax = wireInflightMax
        let port = try MQTTCloudPort(settings: settings, random: SeededRandom(seed: 1), clock: clock, completions: inbox)
        port.start()
        defer { port.stop() }
        try waitUntilConnected(inbox)
        var uplink = UplinkComponent(thing: "bench", outbox: outbox, inflightMax: uplinkInflightMax)
        let started = ContinuousClock.now
        perform(uplink.start(now: clock.now), on: port)
        var idleRounds = 0
        while uplink.unacknowledgedCount > 0 {
            inbox.wait(.milliseconds(100))
            let completions = inbox.take()
            idleRounds = completions.isEmpty ? idleRounds + 1 : 0
            guard idleRounds < 100 else { throw Failure(description: "no PUBACK for 10 s with \(uplink.unacknowledgedCount) unacknowledged") }
            for (completion, _) in completions {
                guard case .cloud(let cloud) = completion else { continue }
                if case .connection(false, let reason) = cloud { throw Failure(description: "connection lost while draining: \(reason)") }
                perform(uplink.handle(cloud, now: clock.now), on: port)
            }
        }
        return Double(count) / (ContinuousClock.now - started).secondsValue
    }

    /// Messages per second for `mosquitto_pub -q 1 -l` sending `count` lines of the same
    /// payload: runs of at most `pubLinesMax` lines, one process after another.
    public static func mosquittoPub(count: Int, directory: String, brokerPort: Int) throws -> Double {
        let line = String(decoding: OutboxBenchmark.payload, as: UTF8.self) + "\n"
        var files: [String] = []
        defer { for file in files { unlink(file) } }
        var left = count
        while left > 0 {
            let lines = min(left, pubLinesMax)
            let path = directory + "/drain-lines-\(getpid())-\(files.count).txt"
            files.append(path)
            guard let file = fopen(path, "w") else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
            for _ in 0..<lines { fputs(line, file) }
            fclose(file)
            left -= lines
        }
        let started = ContinuousClock.now
        for file in files {
            let client = try ChildProcess("/usr/bin/mosquitto_pub",
                                          ["-h", "127.0.0.1", "-p", String(brokerPort), "-q", "1", "-t", "hbs/bench/telemetry", "-l",
                                           "-i", "bench-pub-\(getpid())"],
                                          output: directory + "/mosquitto_pub.log", input: file)
            guard client.wait(seconds: 600) == 0 else { throw Failure(description: "mosquitto_pub failed (see \(directory)/mosquitto_pub.log)") }
        }
        return Double(count) / (ContinuousClock.now - started).secondsValue
    }

    private static func perform(_ actions: [UplinkComponent.Action], on port: MQTTCloudPort) {
        for case .send(let message) in actions { port.send(message, at: Instant(secondsSinceEpoch: 0)) }
    }

    private static func waitUntilConnected(_ inbox: CompletionInbox) throws {
        for _ in 0..<100 {
            inbox.wait(.milliseconds(100))
            for (completion, _) in inbox.take() {
                if case .cloud(.connection(true, _)) = completion { return }
                if case .cloud(.connection(false, let reason)) = completion { throw Failure(description: "cannot reach the broker: \(reason)") }
            }
        }
        throw Failure(description: "no CONNACK within 10 s")
    }
}
