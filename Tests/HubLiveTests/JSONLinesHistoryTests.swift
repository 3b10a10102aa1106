import Foundation
import HubCore
import HubLive
import HubSim
import HubStore
import Testing

@Suite("Live JSON-lines history")
struct JSONLinesHistoryTests {
    static let start = Instant(nanosecondsSinceEpoch: 1_768_435_200_000_000_000)
    static let events: [(HistoryEvent, Instant)] = [
        (.hubStarted(thing: "hbshub001"), start),
        (.sensorError(device: "hvac", chip: "HTS221", error: "nack \"0x5f\""), start + .milliseconds(250)),
        (.faultEnd(name: "i2c.0x5f.nack"), start + .seconds(10)),
    ]

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hubrig-\(UUID().uuidString).jsonl").path
    }

    @Test("each event is in the file the moment it is recorded, in the bytes the simulator's log has")
    func sameLinesAsTheSimulator() throws {
        let live = temporaryPath()
        let simulated = temporaryPath()
        defer {
            try? FileManager.default.removeItem(atPath: live)
            try? FileManager.default.removeItem(atPath: simulated)
        }
        let history = try JSONLinesHistory(path: live)
        for (count, (event, time)) in Self.events.enumerated() {
            history.record(event, at: time)
            // Flushed line by line: `tail -f` and a crash see every event recorded so far.
            let lines = try String(contentsOfFile: live, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == count + 1)
        }
        let recorder = HistoryRecorder(log: try EventLogWriter(path: simulated))
        for (event, time) in Self.events { recorder.record(event, at: time) }
        try recorder.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: live)) == Data(contentsOf: URL(fileURLWithPath: simulated)))
        #expect(history.writeFailures == 0)
    }

    @Test("a failing write is counted, never thrown into the hub",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full"))
    func writeFailuresCounted() throws {
        // Every write to /dev/full fails with ENOSPC: the hub goes on, the history counts.
        let history = try JSONLinesHistory(path: "/dev/full")
        for (event, time) in Self.events { history.record(event, at: time) }
        #expect(history.writeFailures == Self.events.count)
    }
}
