import Foundation
import HubCore
import HubStore
import Testing

@Suite("Event log reader")
struct EventLogReaderTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString).jsonl").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let start = #"{"t": 1768435200.000000, "ev": "hub.start", "thing": "hbshub001"}"#
    static let led = #"{"t": 1768435200.500000, "ev": "led.frame", "colour": "green"}"#

    func readError(_ text: String) throws -> EventLogReadError? {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try EventLogReader.read(path: path) { _, _ in }
            return nil
        } catch {
            return error
        }
    }

    @Test("a log written by the hub's writer reads back event for event, across chunk boundaries")
    func readsWhatWasWritten() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        var written: [(HistoryEvent, Instant)] = []
        for i in 0..<30_000 {
            let time = Instant(nanosecondsSinceEpoch: 1_768_435_200_000_000_000 + Int64(i) * 10_000_000)
            let event = HistoryEvent.faultStart(name: "i2c.0x5f.nack-\(i)")
            try writer.append(event, at: time)
            written.append((event, time))
        }
        try writer.close()
        var read: [(HistoryEvent, Instant)] = []
        let count = try EventLogReader.read(path: path) { read.append(($0, $1)) }
        #expect(count == 30_000)
        #expect(read.map(\.0) == written.map(\.0))
        #expect(read.map(\.1) == written.map(\.1))
    }

    @Test("a last line without its newline is read; one cut off mid-line is refused with its line number")
    func lastLine() throws {
        let path = try write(Self.start + "\n" + Self.led)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try EventLogReader.read(path: path) { _, _ in } == 2)
        let cut = try #require(try readError(Self.start + "\n" + String(Self.led.prefix(30))))
        #expect(cut.line == 2 && cut.reason.contains("not valid JSON"), "\(cut)")
    }

    @Test("hostile logs are refused naming the file, the line and what is wrong", arguments: [
        ("\n", 1, "empty line"),
        (start + "\n\u{0}\u{1}garbage\n", 2, "not valid JSON"),
        (led + "\n" + start + "\n", 2, "before the previous event's"),
        (start + "\n[1, 2]\n", 2, "not a JSON object"),
        (start + "\n" + #"{"t": 1768435201, "ev": "nope"}"# + "\n", 2, "unknown event 'nope'"),
    ] as [(String, Int, String)])
    func hostile(text: String, line: Int, reason: String) throws {
        let error = try #require(try readError(text))
        #expect(error.line == line, "\(error)")
        #expect(error.reason.contains(reason), "\(error)")
        #expect(error.description.contains(".jsonl:\(line): "), "\(error)")
    }

    @Test("truth stamped with its conversion's earlier instant does not break the time order")
    func truthMayLag() throws {
        let truth = #"{"t": 1768435200.200000, "ev": "sim.truth", "device_id": "hvac", "chip": "HTS221", "temperature": 21.5}"#
        #expect(try readError(Self.start + "\n" + Self.led + "\n" + truth + "\n") == nil)
    }

    @Test("a line longer than any event, a directory and a missing file are refused, not read")
    func notALog() throws {
        let long = try #require(try readError(Self.start + "\n" + String(repeating: "x", count: EventLogReader.lineBytesMax + 10)))
        #expect(long.line == 2 && long.reason.contains("longer than"), "\(long)")
        var isDirectory: EventLogReadError?
        do { try EventLogReader.read(path: NSTemporaryDirectory()) { _, _ in } } catch { isDirectory = error }
        #expect(isDirectory?.reason.contains("is a directory") == true)
        var missing: EventLogReadError?
        do { try EventLogReader.read(path: "/nonexistent/log.jsonl") { _, _ in } } catch { missing = error }
        #expect(missing?.description == "/nonexistent/log.jsonl: cannot open: No such file or directory")
    }
}
