import Foundation
import HubCore
import Testing

/// The live hub runs under swift-service-lifecycle (here `hubrig sim run`, the same hub and
/// shell as `hub run` with simulated ports): SIGTERM and SIGINT shut it down gracefully — the loop finishes its step, the history is complete up to that moment,
/// and the process exits 0.
@Suite("Graceful shutdown of the live hub (built binary)", .serialized)
struct GracefulShutdownTests {
    @Test("SIGTERM and SIGINT stop a running hub within a second, exit 0, and leave a whole event log",
          arguments: [SIGTERM, SIGINT])
    func signalStops(signal: Int32) throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try LiveHubEndToEndTests.executable("hubrig"))
        process.arguments = ["sim", "run", "--poll", "1s", "--duration", "1h",
                             "--models", directory + "/no-models", "--event-log", log]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let clock = ContinuousClock()
        // Wait for the first reading, so the loop is running when the signal comes.
        let ready = clock.now + .seconds(20)
        while clock.now < ready, !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("dt/local/sensor/hvac") ?? false) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(process.processIdentifier, signal)
        let sent = clock.now
        let deadline = sent + .seconds(10)
        while process.isRunning, clock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let took = clock.now - sent
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "exit \(process.terminationStatus)")
        #expect(took < .seconds(1), "stopped in \(took)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "the log ends with a whole line")
        #expect(lines.filter { $0.contains("dt/local/sensor/hvac") }.count >= 1)
    }
}
