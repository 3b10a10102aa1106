import HubCore
import HubKernel
import HubSim
import HubStore

/// `hubrig sim export`: simulated telemetry with ground-truth labels, as CSV, for training
/// and evaluating models.
///
/// One appliance of the given kind, polled like a hub polls it, through the real drivers
/// and sensor component. Columns: `timestamp` (epoch seconds, 4 decimals), `device_id`, the
/// kit's channels in canonical order (empty when a reading lacks one), `quality`, and
/// `label`: `normal`, or the appliance failures active at that instant joined by `+`. The
/// history is streamed, not kept, so months export in constant memory.
public enum TelemetryExport {
    public struct Summary: Sendable {
        public let rows: Int
        public let labelledRows: Int
        public let columns: [String]
    }

    public static func run(kind: ApplianceKind, duration: Duration, seed: UInt64, pollInterval: Duration,
                           timeline: [ScheduledFault], to path: String) throws(StoreError) -> Summary {
        let channels = MonitoringKit.for(kind).channels
        let writer = try EventLogWriter(path: path)
        let columns = ["timestamp", "device_id"] + channels.map(\.key) + ["quality", "label"]
        try writer.append(line: Array(columns.joined(separator: ",").utf8))
        var active: [String] = []
        var rows = 0
        var labelled = 0
        var failure: StoreError?
        var line: [UInt8] = []
        let recorder = HistoryRecorder(keepsEntries: false) { event, _ in
            switch event {
            case .faultStart(let name) where name.hasPrefix("appliance."):
                active.append(String(name.split(separator: ".").last ?? ""))
            case .faultEnd(let name) where name.hasPrefix("appliance."):
                if let index = active.firstIndex(of: String(name.split(separator: ".").last ?? "")) { active.remove(at: index) }
            case .busPublish(_, _, .reading(let reading)):
                line.removeAll(keepingCapacity: true)
                JSONText.appendTimestamp(reading.timestamp, decimals: 4, to: &line)
                line.append(UInt8(ascii: ","))
                line.append(contentsOf: reading.device.rawValue.utf8)
                for channel in channels {
                    line.append(UInt8(ascii: ","))
                    if let value = reading.values[channel] { line.append(contentsOf: value.description.utf8) }
                }
                line.append(UInt8(ascii: ","))
                line.append(contentsOf: reading.quality.rawValue.utf8)
                line.append(UInt8(ascii: ","))
                let label = active.isEmpty ? "normal" : active.joined(separator: "+")
                line.append(contentsOf: label.utf8)
                rows += 1
                if !active.isEmpty { labelled += 1 }
                guard failure == nil else { return }
                do throws(StoreError) { try writer.append(line: line) } catch { failure = error }
            default:
                break
            }
        }
        let hub = HubConfig(thing: "export", devices: [HubConfig.Device(id: DeviceID(stringLiteral: kind.exportDevice), kind: kind)],
                            pollInterval: pollInterval)
        let setup = SimulationSetup(seed: seed, duration: duration, hub: hub, faults: timeline)
        Simulation(setup: setup, recorder: recorder).run()
        if let failure { throw failure }
        try writer.close()
        return Summary(rows: rows, labelledRows: labelled, columns: columns)
    }
}

extension ApplianceKind {
    /// The device ID exports and evaluations give a lone appliance of this kind.
    public var exportDevice: String {
        switch self {
        case .furnace: "hvac"
        case .washer: "washer"
        case .fridge: "fridge"
        }
    }
}
