import Foundation
import HubCore
import HubKernel
import Testing

@Suite("Telemetry batches: a zlib stream of one JSON object, read back by any zlib and refused with a reason when damaged")
struct TelemetryBatchTests {
    static func messages(_ range: ClosedRange<Int64>) -> [OutboxMessage] {
        range.map { n in
            let id = "hub-\(n)"
            let payload = #"{"message_id":"\#(id)","readings":[{"timestamp":\#(1000 + n).0,"device_id":"hvac","temperature":21.5}]}"#
            return OutboxMessage(sequence: n, messageID: id, topic: "hbs/hub/telemetry", priority: .telemetry, payload: Array(payload.utf8))
        }
    }

    static func encode(_ range: ClosedRange<Int64>, level: Int32 = 6) -> [UInt8] {
        var json = JSONWriter()
        return TelemetryBatch.encode(batchID: TelemetryBatch.batchID(thing: "hub", first: range.lowerBound, last: range.upperBound),
                                     messages: messages(range), level: level, json: &json)
    }

    @Test("a batch decodes to its id, its message ids in order and every envelope byte for byte")
    func roundTrip() throws {
        let payload = Self.encode(1...300)
        let (batch, envelopes) = try TelemetryBatch.decode(payload)
        #expect(batch.batchID == "hub-batch-1-300")
        #expect(batch.messageIDs == (1...300).map { "hub-\($0)" })
        #expect(envelopes.count == 300)
        #expect(envelopes[41]["message_id"] == .string("hub-42"))
        #expect(try TelemetryBatch.header(of: payload) == batch)
        let inflated = try Zlib.decompress(payload, bytesMax: 1 << 20)
        #expect(inflated.count > 8 * payload.count, "JSON readings deflate well: \(inflated.count) → \(payload.count)")
    }

    @Test("the payload is a standard zlib stream: Python's zlib inflates it to the documented JSON")
    func readByPython() throws {
        let payload = Self.encode(7...9)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString).z")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(payload).write(to: url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import json,sys,zlib; d=json.loads(zlib.decompress(open(sys.argv[1],'rb').read())); "
                             + "print(list(d), d['batch_id'], d['message_ids'], [m['message_id'] for m in d['messages']])", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output == "['batch_id', 'message_ids', 'messages'] hub-batch-7-9 ['hub-7', 'hub-8', 'hub-9'] ['hub-7', 'hub-8', 'hub-9']\n")
    }

    @Test("damaged payloads are refused with the reason", arguments: [
        ("empty", [UInt8](), "truncated"),
        ("JSON, not zlib", Array(#"{"batch_id":"x"}"#.utf8), "not a valid zlib stream"),
        ("garbage", [0x78, 0x9c, 0xff, 0xff, 0xff, 0x00, 0x13], "not a valid zlib stream"),
    ])
    func damaged(_ name: String, _ payload: [UInt8], _ reason: String) {
        #expect(throws: TelemetryBatchError.self, "\(name)") { try TelemetryBatch.header(of: payload) }
        do { _ = try TelemetryBatch.header(of: payload) } catch { #expect(error.description.contains(reason), "\(name): \(error)") }
    }

    @Test("a truncated stream, trailing bytes and a decompression bomb are each named")
    func truncatedTrailingBomb() {
        let payload = Self.encode(1...50)
        for cut in [1, 2, payload.count / 2, payload.count - 1] {
            #expect(throws: TelemetryBatchError.compression(.truncated)) { try TelemetryBatch.header(of: Array(payload.prefix(cut))) }
        }
        #expect(throws: TelemetryBatchError.compression(.trailingBytes(3))) { try TelemetryBatch.header(of: payload + [1, 2, 3]) }
        let bomb = Zlib.compress([UInt8](repeating: 0x20, count: TelemetryBatch.inflatedBytesMax + 1), level: 9)
        #expect(bomb.count < 40_000)
        #expect(throws: TelemetryBatchError.compression(.tooLarge(bytesMax: TelemetryBatch.inflatedBytesMax))) {
            try TelemetryBatch.header(of: bomb)
        }
    }

    @Test("JSON that breaks the batch grammar is refused at its byte offset", arguments: [
        (#"[]"#, "at byte 0", "\"{\""),
        (#"{"message_ids":[],"batch_id":"b","messages":[]}"#, "at byte 1", "the key \"batch_id\""),
        (#"{"batch_id":"b","message_ids":["a\"b"],"messages":[]}"#, "at byte 33", "without escapes"),
        (#"{"batch_id":"b","message_ids":["a" "b"],"messages":[]}"#, "at byte 35", "\",\" or \"]\""),
        (#"{"batch_id":"b","message_ids":["a"],"messages":{}}"#, "at byte 47", "\"[\""),
        (#"{"batch_id":"b","message_ids":["a"#, "at byte 33", "closing quote"),
    ])
    func grammar(_ json: String, _ offset: String, _ expected: String) {
        do {
            _ = try TelemetryBatch.header(of: Zlib.compress(Array(json.utf8), level: 1))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description.contains(offset) && error.description.contains(expected), "\(error)")
        }
    }

    @Test("the full decode checks every envelope against message_ids", arguments: [
        (#"{"batch_id":"b","message_ids":["a","c"],"messages":[{"message_id":"a"}]}"#, "1 messages for 2 message ids"),
        (#"{"batch_id":"b","message_ids":["a"],"messages":[{"message_id":"z"}]}"#, "messages[0]: message_id is not a"),
        (#"{"batch_id":"b","message_ids":["a"],"messages":[7]}"#, "messages[0]: not an object"),
        (#"{"batch_id":"b","message_ids":["a"],"messages":[{"message_id":"a"}],"x":1}"#, "exactly the keys"),
        (#"{"batch_id":"b","message_ids":["a"],"messages":[{"message_id":"a"}"#, "valid JSON"),
    ])
    func envelopes(_ json: String, _ reason: String) {
        do {
            _ = try TelemetryBatch.decode(Zlib.compress(Array(json.utf8), level: 1))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test("fuzz: mutated batches (the project's Fuzzing harness, fixed seed) are each decoded or refused, never a crash or a hang")
    func fuzz() {
        var json = JSONWriter()
        _ = TelemetryBatch.encode(batchID: "b", messages: Self.messages(1...20), level: 1, json: &json)
        // Half the cases mutate the compressed stream (the inflater's input), half the JSON
        // inside (the parser's input, deflated again).
        let tally = Fuzzing.run(seeds: [Self.encode(1...20, level: 1), json.bytes], base: 0xBA7C4, ci: 4_000) { number, bytes in
            let payload = number % 2 == 0 ? bytes : Zlib.compress(bytes, level: 1)
            do {
                let (batch, envelopes) = try TelemetryBatch.decode(payload)
                return batch.messageIDs.count == envelopes.count
            } catch {
                return false
            }
        }
        #expect(tally.slow.isEmpty, "slow cases: \(tally.slow.map { ($0.number, $0.took) })")
        #expect(tally.refused > tally.accepted && tally.accepted > 0, "\(tally)")
    }
}
