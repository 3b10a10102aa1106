import Foundation
import Glibc
import HubLive
import HubScenario
import Testing

/// `hubrig bench drain` compares the uplink with `mosquitto_pub`: both must deliver every
/// message they are timed on, as a subscriber (`mosquitto_sub`, not our code) sees. (The
/// broker queues without limit here, as in the bench, so a slow subscriber loses nothing.)
@Suite("Drain bench against a real mosquitto", .serialized)
struct DrainBenchmarkTests {
    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("drain-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `mosquitto_sub` at QoS 1 on the bench's topic, exiting 0 once it received `count` messages.
    func subscriber(port: Int, count: Int, output: String) throws -> ChildProcess {
        let process = try ChildProcess("/usr/bin/mosquitto_sub",
                                       ["-h", "127.0.0.1", "-p", String(port), "-t", "hbs/bench/telemetry", "-q", "1",
                                        "-C", String(count), "-W", "60"],
                                       output: output)
        usleep(400_000)  // its SUBSCRIBE reaches the broker before anything is published
        return process
    }

    func lineCount(_ path: String) throws -> Int {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
    }

    @Test("the uplink drains every message of the backlog: mosquitto_sub receives all 3,000")
    func drainDeliversEverything() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try LocalMosquitto(directory: directory, listener: ["max_inflight_messages 0", "max_queued_messages 0"])
        defer { broker.stop() }
        let sub = try subscriber(port: broker.port, count: 3_000, output: directory + "/received.txt")
        let rate = try DrainBenchmark.drain(count: 3_000, directory: directory, brokerPort: broker.port)
        #expect(rate > 0)
        #expect(sub.wait(seconds: 60) == 0, "mosquitto_sub got all 3,000 and exited 0")
        #expect(try lineCount(directory + "/received.txt") == 3_000)
    }

    @Test("the mosquitto_pub baseline delivers every message of a backlog past its 16-bit ids' wrap (70,000 lines)")
    func mosquittoPubBaselineDeliversEverything() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try LocalMosquitto(directory: directory, listener: ["max_inflight_messages 0", "max_queued_messages 0"])
        defer { broker.stop() }
        let sub = try subscriber(port: broker.port, count: 70_000, output: directory + "/received.txt")
        let rate = try DrainBenchmark.mosquittoPub(count: 70_000, directory: directory, brokerPort: broker.port)
        #expect(rate > 0)
        #expect(sub.wait(seconds: 90) == 0, "mosquitto_sub got all 70,000 and exited 0")
        #expect(try lineCount(directory + "/received.txt") == 70_000)
    }
}
