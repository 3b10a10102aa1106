import ArgumentParser
import Glibc
import HubCore
import HubKernel
import HubLive

/// Monitoring kits on the home network: `--kit id:kind:interval` (repeatable) and the local
/// broker they publish to, for `hub run` and `hubrig sim run` alike.
public struct KitOptions: ParsableArguments {
    @Option(name: .customLong("kit"), help: "A monitoring kit publishing over MQTT, as id:kind:interval (e.g. garage:fridge:30s); repeatable.")
    public var kits: [String] = []

    @Option(name: .customLong("local-broker"), help: "The home network's MQTT broker the kits publish to, host:port.")
    public var localBroker = "127.0.0.1:1883"

    public init() {}

    /// The kits as devices of the hub, checked against the devices it already has.
    public func devices(besides existing: [HubConfig.Device]) throws -> [HubConfig.Device] {
        var devices: [HubConfig.Device] = []
        for text in kits {
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
            guard !(existing + devices).contains(where: { $0.id == id }) else { throw ValidationError("--kit \(text): a device '\(id)' exists already") }
            devices.append(HubConfig.Device(id: id, kind: kind, detector: .none, source: .mqttKit(interval: interval)))
        }
        return devices
    }

    /// The listener on the local broker, or nil without kits. Not started.
    public func listener(thing: String, shell: LiveShell) throws -> LocalKitListener? {
        guard !kits.isEmpty else { return nil }
        let parts = localBroker.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("--local-broker \(localBroker): expected host:port with a port 1…65535")
        }
        do {
            return try LocalKitListener(host: String(parts[0]), port: port, clientID: thing + "-kits",
                                        random: SeededRandom(seed: UInt64(getpid())), clock: shell.clock, completions: shell.inbox)
        } catch {
            throw ValidationError("--local-broker: \(error)")
        }
    }
}
