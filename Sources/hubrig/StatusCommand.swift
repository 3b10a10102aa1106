import ArgumentParser
import Foundation
import HubCore
import HubLive

/// `hubrig status`: what a running hub says of itself over its control socket.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running hub's components, sensors, cloud connection, outbox, deployment and injected faults.",
        discussion: "Reads the hub's control socket (docs/control.md); --watch asks again every --interval until interrupted.")

    @OptionGroup var control: ControlSocketOptions

    @Flag(help: "Show the status again every --interval.")
    var watch = false

    @Option(help: "How often --watch asks (e.g. 2s).")
    var interval = "2s"

    func run() throws {
        let every: Duration
        do { every = try DurationText.parse(interval) } catch { throw ValidationError("--interval: \(error)") }
        guard every >= .milliseconds(100) else { throw ValidationError("--interval: at least 100ms") }
        let client = try control.client()
        while true {
            let status = try client.request("status")
            // Unbuffered, so --watch piped into a file or a pager shows each status as it comes.
            let text = (control.json ? ControlText.json(status) : ControlText.status(status)) + (watch && !control.json ? "\n\n" : "\n")
            FileHandle.standardOutput.write(Data(text.utf8))
            guard watch else { return }
            LiveShell.sleep(every)
        }
    }
}

/// How the control commands print a hub's replies for a person, or as JSON.
enum ControlText {
    static func json(_ value: JSONValue) -> String {
        var json = JSONWriter(capacity: 512)
        value.write(to: &json)
        return json.string
    }

    static func status(_ value: JSONValue) -> String {
        guard case .object(let status) = value else { return json(value) }
        func text(_ value: JSONValue?) -> String {
            switch value {
            case .string(let s)?: s
            case .number(let n)?: n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : "\(n)"
            case .bool(let b)?: b ? "yes" : "no"
            case .null?, nil: "-"
            case let other?: json(other)
            }
        }
        func objects(_ key: String) -> [[String: JSONValue]] {
            guard case .array(let items)? = status[key] else { return [] }
            return items.compactMap { if case .object(let o) = $0 { o } else { nil } }
        }
        var lines = ["hub \(text(status["thing"]))"]
        lines.append("components: " + objects("components").map { "\(text($0["name"])) \(text($0["state"]))" }.joined(separator: ", "))
        lines.append("devices:")
        for device in objects("devices") {
            lines.append("  \(text(device["id"])) (\(text(device["kind"]))): sensor \(text(device["sensor_health"])), condition \(text(device["condition"])), model \(text(device["model"]))")
        }
        let cloud = status["cloud_connected"] == .bool(true) ? "connected" : "not connected"
        lines.append("cloud: \(cloud); outbox \(text(status["outbox_depth"])) messages, \(text(status["unacknowledged"])) unacknowledged")
        lines.append("deployment: " + (status["deployment"] == .null ? "factory configuration" : text(status["deployment"])))
        let faults = objects("faults")
        lines.append("faults: " + (faults.isEmpty ? "none" : ""))
        for fault in faults {
            var parameters = ""
            if case .object(let given)? = fault["parameters"] {
                parameters = given.keys.sorted().map { " \($0)=\(text(given[$0]))" }.joined()
            }
            let until = fault["until"].flatMap { if case .number(let t) = $0, t.isFinite, abs(t) < 1e11 { " until \(JSONText.timestamp(Instant(secondsSinceEpoch: Int64(t)), decimals: 0))" } else { nil } } ?? ""
            lines.append("  \(text(fault["id"])) \(text(fault["name"]))\(parameters)\(until)")
        }
        return lines.joined(separator: "\n")
    }
}
