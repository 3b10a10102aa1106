import HubCore
import HubKernel
import HubSim

/// `hubrig bench cloud-bytes`: what the uplink puts on the wire per simulated day for three
/// appliances (furnace, washer, fridge) polled every 10 s, batched versus one message per
/// reading.
///
/// Each mode runs the same seeded days through the whole simulated hub and counts the MQTT
/// PUBLISH packets the simulated cloud received (fixed header, topic, packet id, payload:
/// `SimCloudBroker.receivedBytes`); TLS records and TCP/IP headers come on top of every
/// message, so the per-message modes are flattered. Days are counted once all their
/// telemetry was sent: the run lasts `days` + 1 days and the first day (the hub's start,
/// before a daily batch has gone) is not counted.
public enum CloudBytesBenchmark {
    public struct Mode: Sendable {
        public let name: String
        public let batching: TelemetryBatching?
    }

    public struct Result: Sendable {
        public let mode: Mode
        public let messagesPerDay: Double
        public let bytesPerDay: Double
        public let readingsPerDay: Double
    }

    public static let modes = [
        Mode(name: "one message per reading", batching: nil),
        Mode(name: "batches every 5 min, zlib level 1 (scenarios)", batching: TelemetryBatching(interval: .seconds(300), compressionLevel: 1)),
        Mode(name: "daily batches, zlib level 6 (the product)", batching: .product),
        Mode(name: "daily batches, zlib level 9", batching: TelemetryBatching(interval: .seconds(86_400), compressionLevel: 9)),
    ]

    public static func run(seed: UInt64, days: Int) -> [Result] {
        precondition(days >= 1)
        return modes.map { mode in
            let devices: [HubConfig.Device] = [.init(id: "hvac", kind: .furnace, detector: .none), .init(id: "washer", kind: .washer, detector: .none),
                                               .init(id: "fridge", kind: .fridge, detector: .none)]
            let hub = HubConfig(thing: "hbshub001", devices: devices, pollInterval: .seconds(10), telemetryBatching: mode.batching)
            let setup = SimulationSetup(seed: seed, duration: .seconds(Int64(days + 1) * 86_400 + 60), hub: hub)
            // The counters as the first event after the first day (and its batch) finds them.
            final class Mark {
                var simulation: Simulation?
                var readings = 0
                var first: (bytes: Int, messages: Int, readings: Int)?
            }
            let mark = Mark()
            let counted = setup.start + .seconds(86_400 + 30)
            let recorder = HistoryRecorder(log: nil, keepsEntries: false) { event, time in
                if case .busPublish(_, _, .reading) = event { mark.readings += 1 }
                if mark.first == nil, time >= counted, let cloud = mark.simulation?.cloud {
                    mark.first = (cloud.receivedBytes, cloud.receivedCount, mark.readings)
                }
            }
            let simulation = Simulation(setup: setup, recorder: recorder)
            mark.simulation = simulation
            simulation.run()
            let first = mark.first ?? (0, 0, 0)
            let perDay = { (total: Int, before: Int) in Double(total - before) / Double(days) }
            return Result(mode: mode, messagesPerDay: perDay(simulation.cloud.receivedCount, first.messages),
                          bytesPerDay: perDay(simulation.cloud.receivedBytes, first.bytes),
                          readingsPerDay: perDay(mark.readings, first.readings))
        }
    }
}

extension CloudBytesBenchmark {
    /// The table `hubrig bench cloud-bytes` prints, with each mode's bytes against one message per reading.
    public static func table(_ results: [Result]) -> String {
        let perReading = results.first { $0.mode.batching == nil }?.bytesPerDay ?? 0
        func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(1, width - text.count)) + text }
        var lines = [TextFormat.padded("mode", 48) + right("messages/day", 13) + right("bytes/day", 12) + right("bytes/reading", 15) + right("vs per reading", 16)]
        for result in results {
            let ratio = perReading > 0 ? result.bytesPerDay / perReading : 0
            lines.append(TextFormat.padded(result.mode.name, 48) + right(String(Int(result.messagesPerDay.rounded())), 13)
                         + right(String(Int(result.bytesPerDay.rounded())), 12)
                         + right(TextFormat.fixed(result.bytesPerDay / max(1, result.readingsPerDay), decimals: 1), 15)
                         + right(TextFormat.fixed(100 * ratio, decimals: 2) + " %", 16))
        }
        return lines.joined(separator: "\n")
    }
}
