import HubCore
import Testing

@Suite("IPC frames")
struct IPCFrameTests {
    static let stamp = Instant(nanosecondsSinceEpoch: 1_768_435_210_080_100_000)
    static let reading = BusMessage.reading(Reading(timestamp: stamp, device: "weather", values: ChannelValues([(.temperature, 12.5)])))

    /// One frame of every type.
    static let every: [IPCFrame] = [
        .hello(component: "weather-station", versions: [1]),
        .subscribe(id: 1, filter: "hbs/alerts/+"),
        .publish(id: 2, topic: .sensorReading("weather"), message: reading),
        .pong(probe: 7),
        .bye,
        .welcome(version: 1, session: 3),
        .ack(id: 2),
        .refused(id: 2, reason: "not granted by weather-station@1.0.0"),
        .refused(id: nil, reason: "no recipe for 'x'"),
        .message(topic: .alert("hvac"), from: "inference",
                 message: .alert(Alert(timestamp: stamp, device: "hvac", state: .anomalous, previous: .normal, model: "m@1.0.0", score: 2))),
        .probe(probe: 7),
    ]

    @Test("every frame type reads back as written")
    func roundTrip() throws {
        #expect(Set(Self.every.map(\.type)).count == 10)
        for frame in Self.every {
            var reader = IPCFrameReader()
            reader.append(frame.encoded())
            #expect(try reader.next() == frame)
            #expect(try reader.next() == nil)
        }
    }

    @Test("frames split anywhere across reads come out whole and in order")
    func splitStream() throws {
        let stream = Self.every.flatMap { $0.encoded() }
        for chunk in [1, 2, 3, 7, 64, 1000] {
            var reader = IPCFrameReader()
            var frames: [IPCFrame] = []
            var offset = 0
            while offset < stream.count {
                reader.append(stream[offset..<min(stream.count, offset + chunk)])
                offset += chunk
                while let frame = try reader.next() { frames.append(frame) }
            }
            #expect(frames == Self.every, "chunks of \(chunk)")
            #expect(reader.pendingCount == 0)
        }
    }

    @Test("the wire form is a big-endian length and a JSON object")
    func wireForm() {
        let bytes = IPCFrame.pong(probe: 7).encoded()
        let body = Array(#"{"type": "pong", "probe": 7}"#.utf8)
        #expect(bytes == [0, 0, 0, UInt8(body.count)] + body)
    }

    @Test("a length above the limit is refused before its body is buffered", arguments: [0, 1, 262_145, 0x7FFF_FFFF, 0xFFFF_FFFF])
    func oversize(length: Int) {
        var reader = IPCFrameReader()
        reader.append([UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        #expect(throws: IPCProtocolError.self) { try reader.next() }
    }

    @Test("bad bodies name what is wrong", arguments: [
        (#"{"type": "hello", "component": "Weather", "versions": [1]}"#, "component"),
        (#"{"type": "hello", "component": "w", "versions": []}"#, "versions"),
        (#"{"type": "subscribe", "id": 1, "filter": "a/#/b"}"#, "filter"),
        (#"{"type": "publish", "id": -1, "topic": "dt/local/sensor/w", "payload": {}}"#, "id"),
        (#"{"type": "publish", "id": 1, "topic": "dt/local/sensor/w", "payload": {"timestamp": "x"}}"#, "timestamp"),
        (#"{"type": "publish", "id": 1, "topic": "hbs/w/deployments", "payload": {}}"#, "no topic of the hub's bus"),
        (#"{"type": "publish", "id": 1.5, "topic": "dt/local/sensor/w", "payload": {}}"#, "whole number"),
        (#"{"type": "pong", "probe": 1e300}"#, "whole number"),
        (#"{"type": "ack", "id": 1, "extra": true}"#, "unknown field"),
        (#"{"type": "teleport"}"#, "unknown frame type"),
        (#"[1, 2]"#, "not a JSON object"),
        ("\u{FF}\u{FE}", "not valid JSON"),
    ])
    func badBodies(body: String, message: String) {
        do {
            _ = try IPCFrame.decode(body: Array(body.utf8))
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test("mutated streams give frames or a protocol error, never a trap or a hang")
    func fuzz() {
        let seeds = Self.every.map { $0.encoded() } + [Self.every.flatMap { $0.encoded() }]
        let tally = Fuzzing.run(seeds: seeds, base: 0x19C_F2A3E, ci: 3_000) { number, bytes in
            var reader = IPCFrameReader()
            reader.append(bytes)
            var frames = 0
            do {
                while let frame = try reader.next() {
                    frames += 1
                    // What decodes encodes to a frame that decodes to itself.
                    var again = IPCFrameReader()
                    again.append(frame.encoded())
                    #expect((try? again.next()) == frame, "case \(number)")
                }
            } catch {
                return false
            }
            return frames > 0
        }
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
        #expect(tally.slow.isEmpty)
    }
}
