import ArgumentParser
import Foundation
import HubCore
import HubInference
import HubScenario
import HubStore
import HubLive

/// Benchmarks of a debug build measure the wrong thing; each bench says so on standard error.
func warnIfDebugBuild() {
    #if DEBUG
    printError("warning: this is a debug build; measure with `swift build -c release`")
    #endif
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure the rig's performance.", subcommands: [Sim.self, Bus.self, Inference.self, Outbox.self, Drain.self, CloudBytes.self, IPC.self, Fleet.self, Control.self, Kits.self])

    struct Sim: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulated seconds per wall second for a steady-state furnace day at a 1 s poll.",
            discussion: """
                Runs the steady-state day with the hub polling every second (86,400 readings), with the \
                hub-level history recorded and every event encoded to the JSON-lines log (written to \
                /dev/null), as scenario runs do. Reports each run and the median. Build with \
                `swift build -c release`: debug figures mean nothing.
                """)

        @Flag(help: "Print {\"sim_speed_ratio\", \"readings\", \"wall_seconds\"} of the median run as JSON.")
        var json = false

        @Option(help: "Number of runs (the median is reported).")
        var runs = 5

        @Option(help: "Seed of the simulated day.")
        var seed: UInt64 = 1

        @Option(help: "furnace (one kit) or all (furnace, washer and fridge kits); the table shows both unless given.")
        var workload: SimBenchmark.Workload?

        @Option(name: .customLong("models"), help: "Directory of the model packages that score the day (one per kind).")
        var modelsDirectory = ModelPackage.committedDirectory

        func validate() throws {
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        }

        func run() throws {
            warnIfDebugBuild()
            // The real inference core: the committed package for each kind.
            var models: [ApplianceKind: ModelPackage] = [:]
            for kind in ApplianceKind.allCases {
                let directory = ModelPackage.directory(for: kind, in: modelsDirectory)
                do { models[kind] = try ModelPackage.load(directory: directory) } catch {
                    printError("bench sim: \(directory): \(error) (run from the repository root, or pass --models)")
                    throw ExitCode(2)
                }
            }
            let workloads = workload.map { [$0] } ?? (json ? [.furnace] : SimBenchmark.Workload.allCases)
            for (index, workload) in workloads.enumerated() {
                var results: [SimBenchmark.Run] = []
                for _ in 0..<runs {
                    do {
                        results.append(try SimBenchmark.steadyStateDay(seed: seed, workload: workload, models: models, eventLogPath: "/dev/null"))
                    } catch {
                        printError("bench sim: \(error)")
                        throw ExitCode(2)
                    }
                }
                let median = SimBenchmark.median(results)
                if json {
                    print("{\"sim_speed_ratio\": \(Int(median.simSpeedRatio.rounded())), \"readings\": \(median.readings), \"wall_seconds\": \((median.wallSeconds * 1000).rounded() / 1000)}")
                    continue
                }
                if index > 0 { print("") }
                print(SimBenchmark.table(results, median: median))
            }
        }
    }

    struct Kits: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time kit identity: enrolment (key generation and signing), and a kit's connection over mutual TLS against plaintext to the same mosquitto.")

        @Option(help: "Kits to enrol, 1...500.")
        var enrolments = 20

        @Option(help: "Connections of each kind, 8...10000.")
        var connections = 200

        @Option(help: "Directory for the authority, the kits' files and the broker (a scratch directory is made inside).")
        var directory = "/tmp"

        @Flag(help: "Print the figures as one JSON object.")
        var json = false

        func validate() throws {
            guard (1...500).contains(enrolments) else { throw ValidationError("--enrolments: 1...500") }
            guard (8...10_000).contains(connections) else { throw ValidationError("--connections: 8...10000") }
        }

        func run() throws {
            warnIfDebugBuild()
            let scratch = directory + "/hubrig-kits-\(getpid())"
            try StateDirectory.prepare(scratch)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let result = try KitIdentityBenchmark.run(directory: scratch, enrolments: enrolments, connections: connections)
            func median(_ values: [Double]) -> Double { Evaluation.KindReport.percentile(values, 0.5) ?? 0 }
            func p90(_ values: [Double]) -> Double { Evaluation.KindReport.percentile(values, 0.9) ?? 0 }
            func ms(_ value: Double) -> String { TextFormat.fixed(value, decimals: 2) }
            let cost = median(result.tlsMilliseconds) - median(result.plainMilliseconds)
            if json {
                print("{\"enrol_median_ms\": \(ms(median(result.enrolMilliseconds))), \"plain_connect_median_ms\": \(ms(median(result.plainMilliseconds))), "
                    + "\"tls_connect_median_ms\": \(ms(median(result.tlsMilliseconds))), \"tls_cost_ms\": \(ms(cost)), "
                    + "\"broker_cpu_plain_ms\": \(ms(result.brokerCPUPlainMilliseconds)), \"broker_cpu_tls_ms\": \(ms(result.brokerCPUTLSMilliseconds))}")
                return
            }
            print("hubrig bench kits: \(enrolments) enrolments (EC P-256, openssl), \(result.plainMilliseconds.count) connections of each kind to one local mosquitto\n")
            print("measurement                                  median ms   p90 ms   runs")
            func row(_ name: String, _ values: [Double]) {
                print(TextFormat.padded(name, 45) + TextFormat.padded(ms(median(values)), 12) + TextFormat.padded(ms(p90(values)), 9) + String(values.count))
            }
            row("enrolment: key, request, signature", result.enrolMilliseconds)
            row("connect to CONNACK, plaintext", result.plainMilliseconds)
            row("connect to CONNACK, mutual TLS (kit cert)", result.tlsMilliseconds)
            print(TextFormat.padded("TLS handshake cost (difference of medians)", 45) + ms(cost))
            print(TextFormat.padded("broker CPU per connection, plaintext", 45) + ms(result.brokerCPUPlainMilliseconds))
            print(TextFormat.padded("broker CPU per connection, mutual TLS", 45) + ms(result.brokerCPUTLSMilliseconds))
        }
    }

    struct Control: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time control-socket requests to a running hub: round trips of hello and status.",
            discussion: """
                Sends --requests of each op one after another on one connection to the hub at \
                --socket (docs/control.md) and prints the median and p99 round trip. A request \
                waits for the hub's loop to take its turn, so the figure includes that wake-up.
                """)

        @Option(help: "The hub's control socket.")
        var socket = "hub-state/control.sock"

        @Option(help: "Requests of each op, 10...100000.")
        var requests = 1_000

        func validate() throws {
            guard (10...100_000).contains(requests) else { throw ValidationError("--requests: 10...100000") }
        }

        func run() throws {
            let client = try ControlClient(path: socket)
            let clock = ContinuousClock()
            print("hubrig bench control: \(requests) requests of each op, one at a time, to \(socket)\n")
            print("op        median µs   p99 µs")
            for op in ["hello", "status"] {
                var took: [Duration] = []
                took.reserveCapacity(requests)
                for _ in 0..<requests {
                    let start = clock.now
                    _ = try client.request(op)
                    took.append(clock.now - start)
                }
                took.sort()
                func micros(_ d: Duration) -> String { TextFormat.fixed(Double(d.nanoseconds) / 1_000, decimals: 1) }
                print(TextFormat.padded(op, 10) + TextFormat.padded(micros(took[took.count / 2]), 12) + micros(took[min(took.count - 1, took.count * 99 / 100)]))
            }
        }
    }

    struct Outbox: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Outbox commits per second: a file (WAL, synchronous FULL) and in memory, per message and in batches.")

        @Option(help: "Directory for the benchmark's database files (the disk under test).")
        var directory = FileManager.default.temporaryDirectory.path

        @Flag(help: "Print {\"append_msgs_per_s\"} (file, 1000 per transaction) with every case.")
        var json = false

        func run() throws {
            warnIfDebugBuild()
            let cases: [OutboxBenchmark.Case]
            do { cases = try OutboxBenchmark.run(directory: directory) } catch {
                printError("bench outbox: \(error)")
                throw ExitCode(2)
            }
            if json {
                let headline = cases.first { $0.storage == "file" && $0.batch == 1000 }?.appendPerSecond ?? 0
                let each = cases.map { "{\"storage\": \"\($0.storage)\", \"per_txn\": \($0.batch), \"append_msgs_per_s\": \(Int($0.appendPerSecond)), \"remove_msgs_per_s\": \(Int($0.removePerSecond))}" }
                print("{\"append_msgs_per_s\": \(Int(headline)), \"cases\": [\(each.joined(separator: ", "))]}")
                return
            }
            print(OutboxBenchmark.table(cases))
        }
    }

    struct CloudBytes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cloud-bytes",
            abstract: "Bytes sent to the cloud per simulated day for three appliances at 10 s polls, batched versus a message per reading.")

        @Option(help: "Seed of the simulated days.")
        var seed: UInt64 = 1

        @Option(help: "Days counted (after a first day that is not).")
        var days = 2

        @Flag(help: "Print {\"bytes_per_day_batched\", \"bytes_per_day_per_reading\", \"ratio\"} (the product's daily batches) with every mode.")
        var json = false

        func validate() throws {
            guard (1...30).contains(days) else { throw ValidationError("--days \(days): 1…30") }
        }

        func run() throws {
            let results = CloudBytesBenchmark.run(seed: seed, days: days)
            let perReading = results.first { $0.mode.batching == nil }?.bytesPerDay ?? 0
            let product = results.first { $0.mode.batching == .product }?.bytesPerDay ?? 0
            if json {
                let each = results.map { "{\"mode\": \"\($0.mode.name)\", \"messages_per_day\": \(Int($0.messagesPerDay.rounded())), \"bytes_per_day\": \(Int($0.bytesPerDay.rounded()))}" }
                print("{\"bytes_per_day_batched\": \(Int(product.rounded())), \"bytes_per_day_per_reading\": \(Int(perReading.rounded())), "
                      + "\"ratio\": \(TextFormat.fixed(perReading > 0 ? product / perReading : 0, decimals: 4)), \"modes\": [\(each.joined(separator: ", "))]}")
                return
            }
            print("hubrig bench cloud-bytes: furnace + washer + fridge kits, 10 s polls, seed \(seed), \(days) day(s) counted; MQTT PUBLISH bytes (TLS and TCP/IP not included)")
            print(CloudBytesBenchmark.table(results))
        }
    }

    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draining an outbox backlog to a local mosquitto at QoS 1, beside mosquitto_pub -q 1 -l, and peak RSS on a 1,000,000 backlog.",
            discussion: """
                Starts its own mosquitto on a free loopback port (Debian's mosquitto and mosquitto-clients). \
                mosquitto_pub gets at most 50,000 lines per process, one process after another: given more \
                than 65,535 it stops when its message ids wrap, long before the last line.
                """)

        @Option(help: "Messages in the timed backlog.")
        var backlog = 100_000

        @Option(help: "Runs of each (the median is reported).")
        var runs = 3

        @Option(name: .customLong("rss-backlog"), help: "Backlog drained in a child process for the peak RSS figure (0 to skip).")
        var rssBacklog = 1_000_000

        @Option(help: "Directory for the outbox files and the broker's configuration.")
        var directory = FileManager.default.temporaryDirectory.path

        @Flag(help: "Print {\"drain_msgs_per_s\", \"mosquitto_pub_msgs_per_s\", \"ratio\", \"backlog_1m_peak_rss_mb\"}.")
        var json = false

        @Option(help: .hidden)
        var single: Int?

        @Option(name: .customLong("broker-port"), help: .hidden)
        var brokerPort: Int?

        func validate() throws {
            guard (1...10_000_000).contains(backlog) else { throw ValidationError("--backlog \(backlog): 1…10000000") }
            guard (1...20).contains(runs) else { throw ValidationError("--runs \(runs): 1…20") }
            guard (0...10_000_000).contains(rssBacklog) else { throw ValidationError("--rss-backlog \(rssBacklog): 0…10000000") }
        }

        func run() throws {
            warnIfDebugBuild()
            do {
                if let single, let brokerPort {
                    // The child for the RSS figure: drain, print the rate; the parent reads our peak RSS.
                    print(Int(try DrainBenchmark.drain(count: single, directory: directory, brokerPort: brokerPort)))
                    return
                }
                let scratch = directory + "/hubrig-drain-\(getpid())"
                try StateDirectory.prepare(scratch)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                let broker = try LocalMosquitto(directory: scratch, listener: ["max_inflight_messages 0", "max_queued_messages 0"])
                defer { broker.stop() }
                var drains: [Double] = []
                var pubs: [Double] = []
                for _ in 0..<runs {
                    drains.append(try DrainBenchmark.drain(count: backlog, directory: scratch, brokerPort: broker.port))
                    pubs.append(try DrainBenchmark.mosquittoPub(count: backlog, directory: scratch, brokerPort: broker.port))
                }
                var peakMB: Double?
                if rssBacklog > 0 {
                    let child = try ChildProcess(CommandLine.arguments[0],
                                                 ["bench", "drain", "--single", String(rssBacklog), "--broker-port", String(broker.port),
                                                  "--directory", scratch],
                                                 output: scratch + "/rss-child.log")
                    guard child.wait(seconds: 1800) == 0, let bytes = child.peakResidentBytes else {
                        throw DrainBenchmark.Failure(description: "the \(rssBacklog)-message drain failed: "
                            + ((try? String(contentsOfFile: scratch + "/rss-child.log", encoding: .utf8)) ?? ""))
                    }
                    peakMB = Double(bytes) / 1_048_576
                }
                let drain = drains.sorted()[runs / 2]
                let pub = pubs.sorted()[runs / 2]
                let ratio = drain / pub
                if json {
                    print("{\"drain_msgs_per_s\": \(Int(drain)), \"mosquitto_pub_msgs_per_s\": \(Int(pub)), "
                        + "\"ratio\": \((ratio * 1000).rounded() / 1000), \"backlog_1m_peak_rss_mb\": \(peakMB.map { String(($0 * 10).rounded() / 10) } ?? "null")}")
                    return
                }
                print("hubrig bench drain: \(backlog) messages of 180 bytes, QoS 1, to a local mosquitto; medians of \(runs) runs\n")
                print("client                                   msgs_per_s   runs")
                print("uplink (outbox file → MQTTCloudPort)     \(Int(drain))".padding(toLength: 53, withPad: " ", startingAt: 0)
                    + drains.map { String(Int($0)) }.joined(separator: " "))
                print("mosquitto_pub -q 1 -l                    \(Int(pub))".padding(toLength: 53, withPad: " ", startingAt: 0)
                    + pubs.map { String(Int($0)) }.joined(separator: " "))
                print("\nratio uplink / mosquitto_pub \((ratio * 1000).rounded() / 1000) (goal ≥ 0.5)")
                if let peakMB { print("peak RSS draining a \(rssBacklog)-message backlog: \((peakMB * 10).rounded() / 10) MB (goal ≤ 64 MB)") }
            } catch let error as ValidationError {
                throw error
            } catch {
                printError("bench drain: \(error)")
                throw ExitCode(2)
            }
        }
    }

    struct Bus: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bytes and bus time of one full poll of each kit, against the datasheet minimum; the I²C stand-in's throughput against a 400 kHz bus.")

        @Option(name: .long, help: "Runs per stand-in row (the median is shown), 1...50.")
        var runs = 5

        @Flag(name: .long, help: "Skip the stand-in rows (the simulated-bus table only).")
        var noStandIn = false

        func validate() throws {
            guard (1...50).contains(runs) else { throw ValidationError("--runs must be within 1...50, got \(runs)") }
        }

        func run() throws {
            print(BusBenchmark.table(BusBenchmark.rows()))
            guard !noStandIn else { return }
            print("")
            do {
                print(I2CStandInBenchmark.table(try I2CStandInBenchmark.rows(runs: runs)))
            } catch {
                printError("bench bus: \(error)")
                throw ExitCode(2)
            }
        }
    }

    struct Inference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Latency of one window's inference against onnxruntime's on the same model.",
            discussion: """
                Needs onnxruntime: training/setup-venv creates training/.venv (numpy, onnx, onnxruntime from PyPI) \
                and is run on first use. Build with `swift build -c release`.
                """)

        @Option(help: "Model package to measure.")
        var model = ModelPackage.directory(for: .furnace, in: ModelPackage.committedDirectory)

        @Flag(help: "Print {\"median_us\", \"p99_us\", \"onnxruntime_median_us\", \"ratio\", \"max_abs_diff\"}.")
        var json = false

        func run() throws {
            warnIfDebugBuild()
            let setup = Process()
            setup.executableURL = URL(fileURLWithPath: "training/setup-venv")
            let out = Pipe()
            setup.standardOutput = out
            do { try setup.run() } catch {
                printError("bench inference: cannot run training/setup-venv (run from the repository root): \(error)")
                throw ExitCode(2)
            }
            let python = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            setup.waitUntilExit()
            guard setup.terminationStatus == 0 else {
                printError("bench inference: training/setup-venv failed")
                throw ExitCode(2)
            }
            let result: InferenceBenchmark.Result
            do {
                result = try InferenceBenchmark.run(package: model, python: python, script: "training/ort_bench.py")
            } catch {
                printError("bench inference: \(error)")
                throw ExitCode(2)
            }
            func fixed(_ value: Double, _ scale: Double) -> Double { (value * scale).rounded() / scale }
            if json {
                print("{\"median_us\": \(fixed(result.medianMicroseconds, 1000)), \"p99_us\": \(fixed(result.p99Microseconds, 1000)), "
                    + "\"onnxruntime_median_us\": \(fixed(result.onnxruntimeMedianMicroseconds, 1000)), \"ratio\": \(fixed(result.ratio, 10000)), "
                    + "\"max_abs_diff\": \(result.maxAbsDiff)}")
                return
            }
            print("""
                hubrig bench inference: \(result.model), one model call per window, single thread

                                         median µs   p99 µs
                hub runtime (model)      \(fixed(result.medianMicroseconds, 1000))       \(fixed(result.p99Microseconds, 1000))
                hub window (features+model+score) \(fixed(result.windowMedianMicroseconds, 1000))
                onnxruntime (Python)     \(fixed(result.onnxruntimeMedianMicroseconds, 1000))

                ratio hub/onnxruntime \(fixed(result.ratio, 10000)) (goal ≤ 0.2); max |output difference| \(result.maxAbsDiff) (limit 1e-5)
                """)
        }
    }

    struct IPC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ipc",
            abstract: "Publish-to-delivery between two component processes through the hub's IPC bus, beside a bare Unix-socket stream of the same frames.",
            discussion: """
                The hub side (the real node and IPC server, history written to a file) runs in this process; \
                the publisher, the subscriber and the baseline's two ends are this executable started again. \
                The publisher keeps 100 publishes in flight and stamps each as it sends it; the subscriber \
                takes each one's latency on arrival. Reports each run and the median run.
                """)

        @Option(help: "Messages per run and measurement.")
        var count = 50_000

        @Option(help: "Runs (the median by hub throughput is reported).")
        var runs = 3

        @Option(help: "Directory for the sockets and logs (a fresh one under it per run).")
        var directory = FileManager.default.temporaryDirectory.path

        @Flag(help: "Print {\"msgs_per_s\", \"p99_us\", \"baseline_msgs_per_s\", \"ratio\"} of the median run.")
        var json = false

        @Option(help: .hidden)
        var peer: IPCBenchmark.Role?

        @Option(help: .hidden)
        var socket: String?

        @Option(help: .hidden)
        var out: String?

        func validate() throws {
            guard (1...10_000_000).contains(count) else { throw ValidationError("--count \(count): 1…10000000") }
            guard (1...20).contains(runs) else { throw ValidationError("--runs \(runs): 1…20") }
        }

        func run() throws {
            if let peer, let socket {
                try IPCBenchmark.runPeer(peer, socket: socket, count: count, out: out ?? "")
                return
            }
            warnIfDebugBuild()
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            var results: [IPCBenchmark.Run] = []
            for index in 1...runs {
                var template = Array((directory + "/hubrig-ipc-XXXXXX").utf8CString)
                guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                    throw ValidationError("--directory \(directory): cannot make a directory there")
                }
                let scratch = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                let run = try IPCBenchmark.measure(count: count, directory: scratch, executable: executable) { role, socket, count, out in
                    ["bench", "ipc", "--peer", role.rawValue, "--socket", socket, "--count", String(count), "--out", out]
                }
                results.append(run)
                if !json {
                    print(String(format: "run %d: hub %.0f msgs/s (p50 %.0f µs, p99 %.0f µs) · bare socket %.0f msgs/s (p99 %.0f µs) · ratio %.2f",
                                 index, run.hub.messagesPerSecond, Double(run.hub.p50Ns) / 1000, Double(run.hub.p99Ns) / 1000,
                                 run.baseline.messagesPerSecond, Double(run.baseline.p99Ns) / 1000, run.ratio))
                }
            }
            let median = results.sorted { $0.hub.messagesPerSecond < $1.hub.messagesPerSecond }[results.count / 2]
            if json {
                print(String(format: #"{"msgs_per_s": %.0f, "p99_us": %.0f, "baseline_msgs_per_s": %.0f, "ratio": %.3f}"#,
                             median.hub.messagesPerSecond, Double(median.hub.p99Ns) / 1000, median.baseline.messagesPerSecond, median.ratio))
            } else {
                print("""
                    | path | msgs/s | p50 µs | p99 µs |
                    |---|---|---|---|
                    | publisher → hub bus → subscriber | \(Int(median.hub.messagesPerSecond)) | \(median.hub.p50Ns / 1000) | \(median.hub.p99Ns / 1000) |
                    | bare Unix socket, same frames | \(Int(median.baseline.messagesPerSecond)) | \(median.baseline.p50Ns / 1000) | \(median.baseline.p99Ns / 1000) |
                    ratio \(String(format: "%.2f", median.ratio)) (median of \(runs) runs of \(count) messages; goal ≥ 0.5)
                    """)
            }
        }
    }
}
