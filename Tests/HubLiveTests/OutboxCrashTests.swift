import Foundation
import Glibc
import HubCore
import HubLive
import HubStore
import Testing

/// The outbox's promise, tested the hard way: the hub (`hubrig sim run`, the same hub and
/// uplink as `hub run`) publishes to a real mosquitto and is killed with SIGKILL at seeded
/// random moments; a `mosquitto_sub` sink, connected throughout, must end up with every
/// message the outbox ever committed, however often duplicated.
@Suite("Outbox survives SIGKILL (built binary, real mosquitto)", .serialized)
struct OutboxCrashTests {
    @Test("killed 21 times at random moments, a third of them with the broker unreachable, the hub loses no committed message and never reuses an id")
    func sigkillLosesNothing() throws {
        let hubrig = try LiveHubEndToEndTests.executable("hubrig")
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let broker = try LocalMosquitto(directory: directory)
        defer { broker.stop() }
        let received = directory + "/sink.txt"
        let sink = try ChildProcess("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "hbs/#", "-q", "1", "-v"],
                                    output: received)
        defer { sink.terminate() }
        usleep(300_000)
        let state = directory + "/state"
        let nowhere = try LocalMosquitto.freePort()
        // Three kits at the fastest poll the time scale allows: 60 readings a second.
        func hub(_ duration: String, port: Int) throws -> ChildProcess {
            try ChildProcess(hubrig, ["sim", "run", "--poll", "1s", "--time-scale", "20", "--duration", duration, "--models", directory + "/no-models",
                                      "--device", "hvac:furnace", "--device", "laundry:washer", "--device", "kitchen:fridge",
                                      "--cloud-host", "127.0.0.1", "--cloud-port", String(port), "--state-dir", state, "--telemetry-batch", "off",
                                      "--event-log", directory + "/events.jsonl"],
                             output: directory + "/hub.log")
        }
        var random = SeededRandom(seed: 2026)
        // Every third run finds no broker, so the outbox fills with messages never sent; the
        // others send while they append, and the next run must send what they left.
        for run in 0..<21 {
            let child = try hub("1h", port: run % 3 == 0 ? nowhere : broker.port)
            usleep(UInt32(random.nextInt(in: 150_000...700_000)))
            kill(child.pid, SIGKILL)
            #expect(child.wait(seconds: 5) != nil)
        }
        // A last run long enough to drain what the killed ones left, then a graceful end.
        let last = try hub("40s", port: broker.port)
        #expect(last.wait(seconds: 30) == 0, "the last run exits 0")
        usleep(500_000)
        let committed = try SQLiteOutboxStore(path: state + "/outbox.sqlite").counters.lastSequence
        #expect(committed > 100, "\(committed) messages committed over 21 runs")
        let text = try String(contentsOfFile: received, encoding: .utf8)
        var seen = Set<Int64>()
        var lines = 0
        for line in text.split(separator: "\n") {
            lines += 1
            guard let range = line.range(of: "\"message_id\": \"hbshub001-") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let sequence = Int64(digits) { seen.insert(sequence) }
        }
        let missing = (1...committed).filter { !seen.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(committed) committed messages never reached the sink: \(missing.prefix(10))")
        #expect(seen.allSatisfy { $0 <= committed }, "no id beyond what was committed")
        #expect(lines >= committed, "\(lines) deliveries for \(committed) messages (duplicates allowed)")
    }
}
