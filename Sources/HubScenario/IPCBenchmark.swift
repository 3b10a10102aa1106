import Foundation
import Glibc
import HubCore
import HubKernel
import HubLive
import HubStore
import Synchronization

/// `hubrig bench ipc`: publish-to-delivery between two component processes through the
/// hub's IPC bus server, against a bare Unix-socket stream of the same frames between two
/// processes, measured in the same run.
///
/// The hub side is the real node and `UnixSocketIPCServer` in this process, recording its
/// history to a file as a live hub does; the peers are this executable started again
/// (`--peer`). The publisher keeps 100 publishes in flight (the `IPCClient` window) and
/// stamps each with the monotonic clock as it sends it; the subscriber takes the latency
/// of each on arrival. The baseline's source writes the same publish frames one `send`
/// each, without waiting for anything, to a sink that reads them: the floor any bus
/// between processes pays.
public enum IPCBenchmark {
    /// What a receiving peer measured.
    public struct PeerResult: Codable, Sendable {
        public var count: Int
        public var firstSendNs: Int64
        public var lastReceiveNs: Int64
        public var p50Ns: Int64
        public var p99Ns: Int64

        public var messagesPerSecond: Double { Double(count) / (Double(lastReceiveNs - firstSendNs) / 1e9) }
    }

    /// One run: through the hub and the baseline.
    public struct Run: Sendable {
        public var hub: PeerResult
        public var baseline: PeerResult
        public var ratio: Double { hub.messagesPerSecond / baseline.messagesPerSecond }
    }

    public enum Role: String, CaseIterable, Sendable { case pub, sub, source, sink }

    static let publisher = "bench-pub"
    static let topic = Topic.health("bench-pub")
    static let filter = TopicFilter(stringLiteral: "hbs/health/bench-pub")

    static func monotonicNs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// A payload stamped with the send time (a health report's detail: exact, any size).
    static func stamped() -> BusMessage {
        .health(HealthReport(timestamp: Instant(secondsSinceEpoch: 1_768_435_200), component: publisher, device: nil, state: .ok,
                             detail: String(monotonicNs())))
    }

    // MARK: Peers

    /// Runs one peer of the benchmark (a child process), writing its result to `out` if it receives.
    public static func runPeer(_ role: Role, socket path: String, count: Int, out: String) throws {
        switch role {
        case .pub: try publish(path, count: count)
        case .sub: try write(try subscribe(path, count: count, ready: out + ".ready"), to: out)
        case .source:
            let socket = try IPCSocket.connect(path)
            for id in 0..<count { try socket.send(IPCFrame.publish(id: id, topic: topic, message: stamped()).encoded()) }
        case .sink:
            let socket = try IPCSocket.acceptOne(path)
            var latencies = Latencies(count: count)
            receiving: while let frames = try socket.receive() {
                for case .publish(_, _, .health(let report)) in frames where latencies.add(report) { break receiving }
            }
            try write(latencies.result(), to: out)
        }
    }

    private static func publish(_ path: String, count: Int) throws {
        let socket = try IPCSocket.connect(path)
        var client = IPCClient(component: publisher, subscriptions: [], bufferCountMax: count, windowCountMax: 100,
                               backoff: ReconnectBackoff(random: SeededRandom(seed: 1)))
        let now = Instant(secondsSinceEpoch: 0)
        var published = 0
        var acked = 0
        try send(client.connected(now: now), on: socket)
        while acked < count, let frames = try socket.receive() {
            var actions: [IPCClient.Action] = []
            for frame in frames {
                if case .ack = frame { acked += 1 }
                actions += client.received(frame, now: now)
            }
            // One new publish per ack keeps the window full, and each is stamped as it goes out.
            if case .ready = client.state {
                let room = published == 0 ? min(100, count) : min(count - published, frames.count { if case .ack = $0 { true } else { false } })
                for _ in 0..<max(0, room) {
                    actions += client.publish(stamped(), on: topic, now: now)
                    published += 1
                }
            }
            try send(actions, on: socket)
        }
        try socket.send(IPCFrame.bye.encoded())
    }

    private static func subscribe(_ path: String, count: Int, ready: String) throws -> PeerResult {
        let socket = try IPCSocket.connect(path)
        var client = IPCClient(component: "bench-sub", subscriptions: [filter], backoff: ReconnectBackoff(random: SeededRandom(seed: 1)))
        let now = Instant(secondsSinceEpoch: 0)
        var latencies = Latencies(count: count)
        try send(client.connected(now: now), on: socket)
        receiving: while let frames = try socket.receive() {
            var actions: [IPCClient.Action] = []
            for frame in frames {
                if case .ack = frame { _ = FileManager.default.createFile(atPath: ready, contents: nil) }
                for action in client.received(frame, now: now) {
                    if case .deliver(_, _, .health(let report)) = action {
                        if latencies.add(report) { break receiving }
                    } else {
                        actions.append(action)
                    }
                }
            }
            try send(actions, on: socket)
        }
        return latencies.result()
    }

    private static func send(_ actions: [IPCClient.Action], on socket: IPCSocket) throws {
        var bytes: [UInt8] = []
        for case .send(let frame) in actions { bytes += frame.encoded() }
        if !bytes.isEmpty { try socket.send(bytes) }
    }

    private static func write(_ result: PeerResult, to path: String) throws {
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: path))
    }

    /// Arrival latencies of `count` stamped messages.
    struct Latencies {
        let count: Int
        var values: [Int64] = []
        var firstSend = Int64.max
        var lastReceive: Int64 = 0

        init(count: Int) {
            self.count = count
            values.reserveCapacity(count)
        }

        /// Adds one arrival; true once all have arrived.
        mutating func add(_ report: HealthReport) -> Bool {
            let received = IPCBenchmark.monotonicNs()
            let sent = Int64(report.detail) ?? received
            values.append(received - sent)
            firstSend = min(firstSend, sent)
            lastReceive = received
            return values.count >= count
        }

        func result() -> PeerResult {
            let sorted = values.sorted()
            func percentile(_ p: Double) -> Int64 { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            return PeerResult(count: values.count, firstSendNs: firstSend, lastReceiveNs: lastReceive, p50Ns: percentile(0.5), p99Ns: percentile(0.99))
        }
    }

    // MARK: The run

    /// One run of both measurements with `count` messages each; the peers are `executable`
    /// started with `peerArguments(role, socket, count, out)`.
    public static func measure(count: Int, directory: String, executable: String,
                               peerArguments: @escaping @Sendable (Role, String, Int, String) -> [String]) throws -> Run {
        let hubResult = try throughHub(count: count, directory: directory, executable: executable, peerArguments: peerArguments)
        let sink = directory + "/sink.json"
        let socket = directory + "/baseline.sock"
        let receiver = try ChildProcess(executable, peerArguments(.sink, socket, count, sink), output: directory + "/peers.log")
        let sender = try ChildProcess(executable, peerArguments(.source, socket, count, ""), output: directory + "/peers.log")
        guard receiver.wait(seconds: 120) == 0 else { throw LocalProcessError("the baseline sink failed; see \(directory)/peers.log") }
        sender.wait(seconds: 10)
        return Run(hub: hubResult, baseline: try read(sink))
    }

    private static func throughHub(count: Int, directory: String, executable: String,
                                   peerArguments: @escaping @Sendable (Role, String, Int, String) -> [String]) throws -> PeerResult {
        let socket = directory + "/hub.sock"
        let clock = LiveClock()
        let shell = LiveShell(clock: clock)
        let server = try UnixSocketIPCServer(path: socket, completions: shell.inbox, clock: clock)
        let history = try JSONLinesHistory(path: directory + "/hub.jsonl")
        let ports = HubPorts(sensorKits: [], display: nil, cloud: NoCloud(), outbox: try SQLiteOutboxStore(path: nil),
                             timers: shell, history: history, ipc: server)
        let node = HubNode(config: HubConfig(thing: "bench", devices: []), ports: ports, components: [])
        let access = AccessPolicy(publish: [filter], subscribe: [], queueCountMax: 100_000, publishRateMax: 100_000)
        node.addRemote(recipe: ComponentRecipe(name: "bench-sub", version: .init(1, 0, 0), lifecycle: .external(arguments: ["sub"]),
                                               access: AccessPolicy(publish: [], subscribe: [filter], queueCountMax: 100_000)))
        node.addRemote(recipe: ComponentRecipe(name: publisher, version: .init(1, 0, 0), lifecycle: .external(arguments: ["pub"]), access: access))
        server.start()
        defer { server.stop() }
        // The hub's loop runs on this thread; the peers are started and awaited beside it.
        let outcome = Outcome()
        let stopper = shell.loop.clock
        let peers = Thread {
            outcome.set(Result { try runPeers(count: count, socket: socket, directory: directory, executable: executable, peerArguments: peerArguments) })
            stopper.requestStop()
        }
        peers.start()
        shell.run(node)
        return try outcome.get()
    }

    private static func runPeers(count: Int, socket: String, directory: String, executable: String,
                                 peerArguments: (Role, String, Int, String) -> [String]) throws -> PeerResult {
        let out = directory + "/sub.json"
        let subscriber = try ChildProcess(executable, peerArguments(.sub, socket, count, out), output: directory + "/peers.log")
        let ready = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: out + ".ready"), ContinuousClock.now < ready { usleep(10_000) }
        let publisher = try ChildProcess(executable, peerArguments(.pub, socket, count, ""), output: directory + "/peers.log")
        guard subscriber.wait(seconds: 120) == 0 else {
            publisher.terminate()
            throw LocalProcessError("the subscriber failed; see \(directory)/peers.log")
        }
        publisher.wait(seconds: 10)
        return try read(out)
    }

    /// The peers' outcome, handed from their thread to the loop's.
    private final class Outcome: Sendable {
        private let value = Mutex<Result<PeerResult, any Error>?>(nil)
        func set(_ result: Result<PeerResult, any Error>) { value.withLock { $0 = result } }
        func get() throws -> PeerResult {
            guard let result = value.withLock({ $0 }) else { throw LocalProcessError("the peers did not finish") }
            return try result.get()
        }
    }

    private static func read(_ path: String) throws -> PeerResult {
        try JSONDecoder().decode(PeerResult.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The bench hub has no cloud.
    private final class NoCloud: CloudPort {
        func send(_ message: CloudMessage, at: Instant) {}
    }
}
