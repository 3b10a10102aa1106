import Foundation
import HubCore
import HubLive
import Testing

/// Components as real processes on the real IPC socket: the Python weather station
/// (fixtures/components/weather_station.py, written against docs/ipc.md only) talks to
/// `hubrig sim run` — the live hub and shell with simulated appliances. The bus server is
/// killed with SIGKILL and started again; a component process is killed with SIGKILL.
@Suite("Components in processes of their own over the IPC socket (built binary, Python)", .serialized)
struct IPCComponentProcessTests {
    static let script = I2CShimEndToEndTests.packageRoot.appendingPathComponent("fixtures/components/weather_station.py").path

    /// A recipe for the weather station; `command` nil: started by the test.
    static func recipe(in directory: String, command: [String]? = nil) throws -> String {
        let path = directory + "/weather-station.yaml"
        let lifecycle = command.map { "command: [\($0.map { "\"\($0)\"" }.joined(separator: ", "))]" } ?? "command: [python3]"
        try """
            name: weather-station
            version: 1.0.0
            dependencies: { uplink: ^1.0.0 }
            lifecycle: { \(lifecycle) }
            access: { publish: [dt/local/sensor/weather], subscribe: [dt/local/sensor/hvac], publish_rate_max: 100 }
            health: { probe_interval: 1s, probe_timeout: 5s, failures_max: 5, restart_delay: 200ms }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `hubrig sim run` with the IPC socket and the recipe, polling every second.
    static func hub(_ directory: String, recipe: String, log: String, startedElsewhere: Bool, seconds: Int = 60) throws -> ChildProcess {
        try ChildProcess(try LiveHubEndToEndTests.executable("hubrig"),
                         ["sim", "run", "--poll", "1s", "--duration", "\(seconds)s", "--models", directory + "/no-models",
                          "--state-dir", directory + "/state", "--event-log", log,
                          "--ipc-socket", directory + "/ipc.sock", "--component", recipe]
                            + (startedElsewhere ? ["--component-started-elsewhere"] : []),
                         output: directory + "/hub.out")
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    /// The temperatures of the weather station's readings the hub published, in order.
    static func weatherReadings(_ log: String) -> [Double] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line -> Double? in
            guard line.contains(#""from": "weather-station""#),
                  case .busPublish(_, _, .reading(let reading)) = try? HistoryEvent.decode(line: Array(line.utf8)).event else { return nil }
            return reading.values[.temperature]
        }
    }

    static func report(_ path: String) -> [String: Int]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode([String: Int].self, from: data)
    }

    @Test("a Python component says hello, publishes through the hub's bus and hears the hub's readings")
    func pythonComponent() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        let hub = try Self.hub(directory, recipe: try Self.recipe(in: directory), log: log, startedElsewhere: true, seconds: 40)
        defer { hub.terminate() }
        #expect(Self.waitFor(20) { FileManager.default.fileExists(atPath: directory + "/ipc.sock") })
        var mode = stat()
        #expect(stat(directory + "/ipc.sock", &mode) == 0 && mode.st_mode & 0o777 == 0o600, "owner-only socket")
        let python = try ChildProcess("/usr/bin/env", ["python3", Self.script, directory + "/ipc.sock", "--count", "10", "--interval", "0.05",
                                                       "--report", directory + "/report.json"], output: directory + "/python.out")
        #expect(python.wait(seconds: 30) == 0, "\((try? String(contentsOfFile: directory + "/python.out", encoding: .utf8)) ?? "")")
        #expect(Self.report(directory + "/report.json") == ["acked": 10, "refused": 0, "heard": 10, "sessions": 1, "unsent": 0])
        #expect(Self.weatherReadings(log) == (1...10).map(Double.init))
    }

    @Test("the bus server is killed with SIGKILL and started again: the component holds its publishes, reconnects and delivers them in order")
    func busServerKilled() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let recipe = try Self.recipe(in: directory)
        let first = try Self.hub(directory, recipe: recipe, log: directory + "/first.jsonl", startedElsewhere: true)
        #expect(Self.waitFor(20) { FileManager.default.fileExists(atPath: directory + "/ipc.sock") })
        let python = try ChildProcess("/usr/bin/env", ["python3", Self.script, directory + "/ipc.sock", "--count", "20", "--interval", "0.1",
                                                       "--report", directory + "/report.json"], output: directory + "/python.out")
        defer { python.terminate() }
        #expect(Self.waitFor(20) { Self.weatherReadings(directory + "/first.jsonl").count >= 5 })
        kill(first.pid, SIGKILL)
        first.wait(seconds: 10)
        let beforeKill = Self.weatherReadings(directory + "/first.jsonl")
        Thread.sleep(forTimeInterval: 1)
        let second = try Self.hub(directory, recipe: recipe, log: directory + "/second.jsonl", startedElsewhere: true)
        defer { second.terminate() }
        #expect(python.wait(seconds: 45) == 0, "\((try? String(contentsOfFile: directory + "/python.out", encoding: .utf8)) ?? "")")
        let afterRestart = Self.weatherReadings(directory + "/second.jsonl")
        let report = Self.report(directory + "/report.json")
        #expect(report?["sessions"] == 2 && report?["unsent"] == 0, "\(String(describing: report))")
        // Every reading reached a hub; one published as the server died may arrive twice (at least once), never out of order.
        #expect(beforeKill == (1...beforeKill.count).map(Double.init))
        let resumed = Double(beforeKill.count)
        #expect(afterRestart.first.map { $0 == resumed || $0 == resumed + 1 } == true, "resumed at \(String(describing: afterRestart.first)) after \(beforeKill.count)")
        #expect(afterRestart.last == 20 && afterRestart == (Int(afterRestart.first ?? 0)...20).map(Double.init))
    }

    @Test("a component process killed with SIGKILL is restarted by the supervisor and says hello again")
    func componentKilled() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        let recipe = try Self.recipe(in: directory, command: ["python3", Self.script, "--count", "3", "--interval", "0.05", "--stay",
                                                              "--pidfile", directory + "/pid"])
        let hub = try Self.hub(directory, recipe: recipe, log: log, startedElsewhere: false, seconds: 60)
        defer { hub.terminate() }
        #expect(Self.waitFor(30) { Self.weatherReadings(log).count >= 3 })
        guard let text = try? String(contentsOfFile: directory + "/pid", encoding: .utf8), let pid = pid_t(text) else {
            Issue.record("no pid file"); return
        }
        try? FileManager.default.removeItem(atPath: directory + "/pid")
        kill(pid, SIGKILL)
        #expect(Self.waitFor(30) { Self.weatherReadings(log).count >= 6 }, "the restarted program published again")
        let states = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter {
            $0.contains(#""ev": "component.state""#) && $0.contains("weather-station")
        }
        // At least the first run and the one after the kill (a probe missed under a loaded machine may add more).
        #expect(states.contains { $0.contains("killed by signal 9") }, "\(states.count) state changes")
        #expect(states.filter { $0.contains(#""to": "running""#) }.count >= 2, "\(states.count) state changes")
        #expect(FileManager.default.fileExists(atPath: directory + "/pid"), "a new program started")
    }

    /// The pids of `parent`'s children whose command line holds `word` (read from /proc).
    static func children(of parent: pid_t, running word: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm) ": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, pid_t(fields[1]) == parent,
                  let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: command, as: UTF8.self).split(separator: "\0").contains(where: { $0 == word }) else { return nil }
            return pid
        }
    }

    @Test("hub component inference: the built-in inference as a process of its own scores the hub's readings; killed with SIGKILL it is restarted")
    func builtinComponentProcess() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        let models = I2CShimEndToEndTests.packageRoot.appendingPathComponent("fixtures/models").path
        let command = [try LiveHubEndToEndTests.executable("hub"), "component", "inference", "--ipc", directory + "/ipc.sock",
                       "--device", "hvac:furnace", "--poll", "10s", "--models", models, "--event-log", directory + "/inference.jsonl"]
        // The built-in's grants; times are the hub's, 200 times real time (a probe every 0.3 s, 3 s to answer).
        let recipe = directory + "/inference.yaml"
        try """
            name: inference
            version: 1.0.0
            lifecycle: { command: [\(command.map { "\"\($0)\"" }.joined(separator: ", "))] }
            access: { publish: ["hbs/inference/+", "hbs/alerts/+"], subscribe: ["dt/local/sensor/+"], publish_rate_max: 1000 }
            health: { probe_interval: 1m, probe_timeout: 10m, failures_max: 5, restart_delay: 1s }
            """.write(toFile: recipe, atomically: true, encoding: .utf8)
        let hub = try ChildProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                   ["sim", "run", "--poll", "10s", "--time-scale", "200", "--duration", "24000s", "--models", models,
                                    "--state-dir", directory + "/state", "--event-log", log,
                                    "--ipc-socket", directory + "/ipc.sock", "--component", recipe],
                                   output: directory + "/hub.out")
        defer { hub.terminate() }
        func results() -> Int {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count {
                $0.contains(#""from": "inference""#) && $0.contains(#""topic": "hbs/inference/hvac""#)
            }
        }
        // The model's window is 180 readings: 9 s of real time at 200×.
        #expect(Self.waitFor(60) { results() >= 5 }, "\((try? String(contentsOfFile: directory + "/hub.out", encoding: .utf8)) ?? "")")
        let pids = Self.children(of: hub.pid, running: "component")
        try #require(pids.count == 1, "one component process, a child of the hub: \(pids)")
        let before = results()
        kill(pids[0], SIGKILL)
        #expect(Self.waitFor(60) { results() >= before + 5 }, "the restarted process scores again")
        let states = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter {
            $0.contains(#""ev": "component.state""#) && $0.contains(#""component": "inference""#)
        }
        #expect(states.contains { $0.contains("killed by signal 9") }, "\(states)")
        #expect(states.filter { $0.contains(#""to": "running""#) }.count >= 2, "\(states)")
        #expect(Self.children(of: hub.pid, running: "component").allSatisfy { $0 != pids[0] }, "a new process")
    }

    @Test("hostile clients are closed and the hub goes on: a huge length, garbage, a publish before hello, a stranger, a hang-up mid-frame")
    func hostileClients() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let log = directory + "/hub.jsonl"
        let hub = try Self.hub(directory, recipe: try Self.recipe(in: directory), log: log, startedElsewhere: true, seconds: 40)
        defer { hub.terminate() }
        let socket = directory + "/ipc.sock"
        #expect(Self.waitFor(20) { FileManager.default.fileExists(atPath: socket) })
        func closedAfter(_ bytes: [UInt8]) throws -> [UInt8] {
            let client = try RawI2CClient(path: socket)
            try client.send(bytes)
            var received: [UInt8] = []
            while true {
                let chunk = try client.receive(upTo: 4096)
                if chunk.isEmpty { return received }
                received += chunk
            }
        }
        #expect(try closedAfter([0xFF, 0xFF, 0xFF, 0xFF]).isEmpty, "a 4 GiB length: closed before any body")
        #expect(try closedAfter([0, 0, 0, 5] + Array("}{[]x".utf8)).isEmpty, "garbage JSON: closed")
        let early = IPCFrame.publish(id: 1, topic: .sensorReading("weather"),
                                     message: .reading(Reading(timestamp: Instant(secondsSinceEpoch: 1), device: "weather", values: ChannelValues([(.temperature, 1)]))))
        #expect(try closedAfter(early.encoded()).isEmpty, "publish before hello: closed")
        var reader = IPCFrameReader()
        reader.append(try closedAfter(IPCFrame.hello(component: "intruder", versions: [1]).encoded()))
        guard case .refused(nil, let reason)? = try reader.next() else { Issue.record("no refusal"); return }
        #expect(reason.contains("no component 'intruder'"))
        let halfway = try RawI2CClient(path: socket)
        try halfway.send(Array(IPCFrame.hello(component: "weather-station", versions: [1]).encoded().prefix(10)))
        _ = halfway  // hangs up mid-frame when it goes out of scope
        // The hub is unharmed: it keeps polling, and a well-behaved component still gets in.
        let python = try ChildProcess("/usr/bin/env", ["python3", Self.script, socket, "--count", "3", "--interval", "0.05"],
                                      output: directory + "/python.out")
        #expect(python.wait(seconds: 30) == 0)
        #expect(Self.weatherReadings(log) == [1, 2, 3])
    }
}

@Suite("hubrig bench ipc (built binary)", .serialized)
struct IPCBenchmarkPlumbingTests {
    @Test("the benchmark's peers exchange every message and it reports the four figures")
    func reportsFigures() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let out = directory + "/bench.json"
        let bench = try ChildProcess(try LiveHubEndToEndTests.executable("hubrig"),
                                     ["bench", "ipc", "--count", "300", "--runs", "1", "--json", "--directory", directory], output: out)
        #expect(bench.wait(seconds: 120) == 0)
        let line = try #require(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").last { $0.hasPrefix("{") })
        let figures = try JSONDecoder().decode([String: Double].self, from: Data(line.utf8))
        #expect(Set(figures.keys) == ["msgs_per_s", "p99_us", "baseline_msgs_per_s", "ratio"])
        #expect(figures.values.allSatisfy { $0 > 0 && $0.isFinite }, "\(figures)")
    }
}
