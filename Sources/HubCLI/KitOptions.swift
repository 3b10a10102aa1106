import ArgumentParser
import HubCore
import HubKernel

/// Monitoring kits on the home network: `--kit id:kind:interval` (repeatable) and the local
/// broker they publish to, for `hub run` and `hubrig sim run` alike. The config file's
/// `kits:` and `local_broker:` say the same; flags given here replace them.
public struct KitOptions: ParsableArguments {
    @Option(name: .customLong("kit"), help: "A monitoring kit publishing over MQTT, as id:kind:interval (e.g. garage:fridge:30s); repeatable; replaces the file's kits.")
    public var kits: [String] = []

    @Option(name: .customLong("local-broker"), help: "The home network's MQTT broker the kits publish to, host:port (default 127.0.0.1:1883).")
    public var localBroker: String?

    public init() {}

    /// The `--kit` flags as the file's kit entries.
    func parsedKits() throws -> [HubConfigFile.Kit] {
        try kits.map { text in
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw ValidationError("--kit \(text): expected id:kind:interval, like garage:fridge:30s") }
            let id: DeviceID
            do { id = try DeviceID(validating: parts[0]) } catch { throw ValidationError("--kit \(text): \(error)") }
            guard let kind = ApplianceKind(rawValue: parts[1]) else {
                throw ValidationError("--kit \(text): unknown kind '\(parts[1])' (furnace, washer, fridge)")
            }
            let interval: Duration
            do { interval = try DurationText.parse(parts[2]) } catch { throw ValidationError("--kit \(text): \(error)") }
            guard HubConfig.pollIntervals.contains(interval) else {
                throw ValidationError("--kit \(text): interval \(parts[2]) outside \(DurationText.format(HubConfig.pollIntervals))")
            }
            return HubConfigFile.Kit(id: id, kind: kind, interval: interval)
        }
    }

    /// `--local-broker`, checked.
    func parsedBroker() throws -> BrokerAddress? {
        guard let localBroker else { return nil }
        guard let colon = localBroker.lastIndex(of: ":"), let port = Int(localBroker[localBroker.index(after: colon)...]),
              BrokerAddress.ports.contains(port) else {
            throw ValidationError("--local-broker \(localBroker): expected host:port with a port 1…65535")
        }
        let host = String(localBroker[..<colon])
        if let problem = BrokerAddress.hostProblem(host) { throw ValidationError("--local-broker: \(problem)") }
        return BrokerAddress(host: host, port: port)
    }
}
