import HubCore
import HubKernel
import Testing

@Suite("The IPC client survives the bus server going away")
struct IPCClientTests {
    static let t0 = Instant(secondsSinceEpoch: 1_000)

    static func reading(_ n: Int) -> BusMessage {
        .reading(Reading(timestamp: t0 + .seconds(Int64(n)), device: "weather", values: ChannelValues([(.temperature, Double(n))])))
    }

    static func client(buffer: Int = 10_000, window: Int = 100) -> IPCClient {
        IPCClient(component: "weather", subscriptions: ["hbs/alerts/+"], bufferCountMax: buffer, windowCountMax: window,
                  backoff: ReconnectBackoff(random: SeededRandom(seed: 1)))
    }

    /// The temperatures of the publishes among `actions`, in order.
    static func published(_ actions: [IPCClient.Action]) -> [Double] {
        actions.compactMap { if case .send(.publish(_, _, .reading(let r))) = $0 { r.values[.temperature] } else { nil } }
    }

    static func publishIDs(_ actions: [IPCClient.Action]) -> [Int] {
        actions.compactMap { if case .send(.publish(let id, _, _)) = $0 { id } else { nil } }
    }

    @Test("it greets, subscribes after the welcome, and sends what it held in order")
    func handshake() {
        var client = Self.client()
        var actions = client.publish(Self.reading(1), on: .sensorReading("weather"), now: Self.t0)
        #expect(actions.isEmpty, "held until connected")
        #expect(client.connected(now: Self.t0) == [.send(.hello(component: "weather", versions: [1]))])
        actions = client.received(.welcome(version: 1, session: 1), now: Self.t0)
        #expect(actions.first == .send(.subscribe(id: 0, filter: "hbs/alerts/+")))
        #expect(Self.published(actions) == [1])
        #expect(client.state == .ready(session: 1))
        #expect(client.received(.probe(probe: 4), now: Self.t0) == [.send(.pong(probe: 4))])
        let alert = BusMessage.alert(Alert(timestamp: Self.t0, device: "hvac", state: .anomalous, previous: .normal, model: "m@1.0.0", score: 2))
        #expect(client.received(.message(topic: .alert("hvac"), from: "inference", message: alert), now: Self.t0)
                == [.deliver(.alert("hvac"), from: "inference", alert)])
    }

    @Test("after a loss, unacknowledged publishes go first, then the held ones, in order, and subscriptions are renewed")
    func lossAndReturn() {
        var client = Self.client()
        _ = client.connected(now: Self.t0)
        _ = client.received(.welcome(version: 1, session: 1), now: Self.t0)
        let sent = (1...3).flatMap { client.publish(Self.reading($0), on: .sensorReading("weather"), now: Self.t0) }
        let ids = Self.publishIDs(sent)
        _ = client.received(.ack(id: ids[0]), now: Self.t0)
        let lost = client.disconnected(now: Self.t0 + .seconds(1), reason: "server killed")
        #expect(lost.contains { if case .connect = $0 { true } else { false } })
        for n in 4...5 { #expect(client.publish(Self.reading(n), on: .sensorReading("weather"), now: Self.t0).isEmpty) }
        _ = client.connected(now: Self.t0 + .seconds(2))
        let back = client.received(.welcome(version: 1, session: 2), now: Self.t0 + .seconds(2))
        #expect(back.first == .send(.subscribe(id: 4, filter: "hbs/alerts/+")))
        #expect(Self.published(back) == [2, 3, 4, 5], "at least once, in order")
        #expect(client.droppedCount == 0)
    }

    @Test("a full buffer drops the oldest and counts every drop")
    func overflow() {
        var client = Self.client(buffer: 3)
        var logs: [String] = []
        for n in 1...5 {
            for case .log(let line) in client.publish(Self.reading(n), on: .sensorReading("weather"), now: Self.t0) { logs.append(line) }
        }
        #expect(client.droppedCount == 2)
        #expect(logs.count == 2 && logs.last?.contains("2 in all") == true)
        _ = client.connected(now: Self.t0)
        #expect(Self.published(client.received(.welcome(version: 1, session: 1), now: Self.t0)) == [3, 4, 5])
    }

    @Test("the window bounds what is on the wire; acks release the rest")
    func window() {
        var client = Self.client(window: 2)
        _ = client.connected(now: Self.t0)
        _ = client.received(.welcome(version: 1, session: 1), now: Self.t0)
        let first = (1...4).flatMap { client.publish(Self.reading($0), on: .sensorReading("weather"), now: Self.t0) }
        #expect(Self.published(first) == [1, 2])
        let ids = Self.publishIDs(first)
        #expect(Self.published(client.received(.ack(id: ids[0]), now: Self.t0)) == [3])
        let refusal = client.received(.refused(id: ids[1], reason: "over the rate"), now: Self.t0)
        #expect(refusal.first == .log("the hub refused publish on dt/local/sensor/weather: over the rate"))
        #expect(Self.published(refusal) == [4])
        #expect(client.refusedCount == 1)
    }

    @Test("a refused hello, an unknown version or an out-of-place frame closes the connection")
    func protocolTrouble() {
        var client = Self.client()
        _ = client.connected(now: Self.t0)
        #expect(client.received(.refused(id: nil, reason: "no recipe"), now: Self.t0) == [.close(reason: "the hub refused weather: no recipe")])
        var other = Self.client()
        _ = other.connected(now: Self.t0)
        #expect(other.received(.welcome(version: 9, session: 1), now: Self.t0).first.map { if case .close = $0 { true } else { false } } == true)
        var third = Self.client()
        #expect(third.received(.ack(id: 1), now: Self.t0) == [.close(reason: "unexpected ack frame while disconnected")])
    }
}
