import ArgumentParser
import Foundation
import HubCLI
import HubCore
import HubKernel
import HubLive
import Synchronization

/// `hubrig cloud`: the cloud side, for checking a live hub against a real broker.
struct CloudCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud", abstract: "The cloud side of a live hub.", subcommands: [Sink.self, Proxy.self])

    /// `hubrig cloud sink`: subscribes to a hub's cloud topics on a real broker and accounts
    /// for what arrives (`CloudLedger`).
    struct Sink: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive a hub's cloud messages from a broker; report received, duplicates, missing and out-of-order.",
            discussion: """
                Subscribes at QoS 1 to hbs/<thing>/telemetry, /alerts and /health with a persistent session \
                (clean session off, so a restarted sink gets what it missed), opens telemetry batches, \
                de-duplicates by message id and prints the report when --duration has passed, --count message ids \
                have arrived, or on SIGINT. Exit 0; 1 with --expect-complete when anything is missing, out of order \
                or unreadable; 2 for bad options or a broker that never answered.
                """)

        @OptionGroup var cloud: CloudOptions

        @Option(help: "The hub's thing name.")
        var thing = "hbshub001"

        @Option(help: "Stop after this long (e.g. 30s).")
        var duration = "60s"

        @Option(help: "Stop once this many distinct message ids have arrived.")
        var count: Int?

        @Option(name: .customLong("client-id"), help: "The sink's MQTT client id (its persistent session).")
        var clientID = "hubrig-cloud-sink"

        @Flag(name: .customLong("expect-complete"), help: "Exit 1 unless nothing is missing, out of order or unreadable.")
        var expectComplete = false

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            if let count, count < 1 { throw ValidationError("--count \(count): at least 1") }
            guard cloud.host != nil else { throw ValidationError("--cloud-host is required: the broker the hub publishes to") }
            guard HubConfig.isValidThing(thing) else { throw ValidationError("--thing \(thing.debugDescription): \(HubConfig.thingRule)") }
        }

        func run() throws {
            let wait: Duration
            do { wait = try DurationText.parse(duration) } catch { throw ValidationError("--duration: \(error)") }
            let topics = ["telemetry", "alerts", "health"].map { "hbs/\(thing)/\($0)" }
            guard let settings = try HubRunSettings.resolve(try HubRunOptions.parse([]), cloud, file: nil)
                .cloudClientSettings(clientID: clientID, subscriptions: topics) else { throw ValidationError("--cloud-host is required") }
            let (host, port) = (settings.host, settings.port)
            let ledger = Mutex(CloudLedger(thing: thing))
            let done = DispatchSemaphore(value: 0)
            let connected = Mutex(false)
            let target = count
            let client: MosquittoClient
            do {
                client = try MosquittoClient(settings: settings, random: SeededRandom(seed: UInt64(getpid()))) { event in
                    switch event {
                    case .connected:
                        connected.withLock { $0 = true }
                    case .message(let topic, let payload):
                        let reached = ledger.withLock { ledger in
                            ledger.receive(topic: topic, payload: payload)
                            return target.map { ledger.uniqueReceived >= $0 } ?? false
                        }
                        if reached { done.signal() }
                    case .connectFailed(let reason), .disconnected(let reason):
                        FileHandle.standardError.write(Data("hubrig cloud sink: \(reason)\n".utf8))
                    case .published:
                        break
                    }
                }
            } catch {
                throw ValidationError("--cloud-host: \(error)")
            }
            client.start()
            _ = done.wait(timeout: .now() + .nanoseconds(Int(wait.nanoseconds)))
            client.stop()
            guard connected.withLock({ $0 }) else {
                printError("hubrig cloud sink: never connected to \(host):\(port)")
                throw ExitCode(2)
            }
            let report = ledger.withLock { $0 }
            if json {
                print(report.json())
            } else {
                print("hubrig cloud sink: \(report.messagesReceived) messages for \(thing): \(report.uniqueReceived) message ids received"
                      + " (\(report.duplicates) duplicates), \(report.missing) missing, \(report.outOfOrder) out of order, \(report.unreadable) unreadable")
                let gaps = report.missingSequences(limit: 10)
                if !gaps.isEmpty { print("  first missing: " + gaps.map { "\(thing)-\($0)" }.joined(separator: ", ")) }
                for reason in report.unreadableReasons { print("  unreadable: \(reason)") }
            }
            if expectComplete, report.missing > 0 || report.outOfOrder > 0 || report.unreadable > 0 { throw ExitCode(1) }
        }
    }
}
