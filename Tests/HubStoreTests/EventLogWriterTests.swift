import Foundation
import HubCore
import HubStore
import Testing

@Suite("Event log writer")
struct EventLogWriterTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString).jsonl").path
    }

    @Test("every appended line reaches the file, in order, across buffer flushes")
    func linesInOrder() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        for i in 0..<20_000 { try writer.append(line: Array("{\"n\": \(i)}".utf8)) }
        try writer.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 20_000)
        #expect(lines.first == "{\"n\": 0}")
        #expect(lines.last == "{\"n\": 19999}")
        #expect(writer.linesWritten == 20_000)
    }

    @Test("a history event goes out as one line: its JSON form, then a newline")
    func historyEventLines() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        let start = Instant(nanosecondsSinceEpoch: 1_768_435_200_000_000_000)
        try writer.append(.hubStarted(thing: "hbshub001"), at: start)
        try writer.append(.ledFrame(colour: "green"), at: start + .milliseconds(500))
        try writer.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == """
            {"t": 1768435200.000000, "ev": "hub.start", "thing": "hbshub001"}
            {"t": 1768435200.500000, "ev": "led.frame", "colour": "green"}

            """)
        #expect(writer.linesWritten == 2)
    }

    @Test("an unwritable path is an error naming the path")
    func badPath() {
        #expect {
            _ = try EventLogWriter(path: "/nonexistent-dir/log.jsonl")
        } throws: { error in
            "\(error)".contains("/nonexistent-dir/log.jsonl") && "\(error)".contains("open failed")
        }
    }
}
