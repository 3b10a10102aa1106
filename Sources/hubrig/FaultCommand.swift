import ArgumentParser
import Foundation
import HubCore
import HubKernel
import HubLive
import HubSim

struct FaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault", abstract: "The faults scenarios can inject, and injecting them into a running hub.",
        discussion: "inject and clear talk to a running hub's control socket (docs/control.md).",
        subcommands: [List.self, Inject.self, Clear.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every fault kind: its name pattern, parameters (type, range, default), effect and the port that applies it.")

        @Flag(help: "Print the catalogue as JSON.")
        var json = false

        @Flag(help: "Print the README's fault table (Markdown).")
        var markdown = false

        func validate() throws {
            if json, markdown { throw ValidationError("--json and --markdown exclude each other") }
        }

        func run() {
            if json {
                print(FaultCatalogue.json(), terminator: "")
                return
            }
            if markdown {
                print(FaultCatalogue.markdownTable(), terminator: "")
                return
            }
            for kind in FaultCatalogue.all {
                let live = LiveFault.liveTarget(of: kind.pattern).map { " (live: \($0))" } ?? ""
                print("\(kind.pattern)  — \(kind.summary) [\(kind.port)]\(live)")
                for parameter in kind.parameters {
                    let needed = parameter.defaultText.map { "default \($0)" } ?? "required"
                    let unit = parameter.unit.map { ", \($0)" } ?? ""
                    print("    \(parameter.name): \(FaultCatalogue.typeName(parameter.kind)) \(parameter.rangeText)\(unit); \(needed) — \(parameter.summary)")
                }
            }
            let simulated = Set(FaultCatalogue.all.map(\.pattern))
            let liveOnly = LiveFault.patterns.filter { !simulated.contains($0) }
            print("")
            print("(live: hub) and (live: proxy): also injected into a running hub with `hubrig fault inject`, on the hub's control")
            print("socket or `hubrig cloud proxy`'s (docs/control.md). Only live, through the proxy: " + liveOnly.joined(separator: ", ") + ".")
        }
    }
}

/// `--socket PATH` and `--json`, shared by the commands that talk to a running hub.
struct ControlSocketOptions: ParsableArguments {
    @Option(help: "The hub's control socket (hub run --control-socket).")
    var socket = "hub-state/control.sock"

    @Flag(help: "Print the hub's reply as JSON.")
    var json = false

    func client() throws -> ControlClient { try ControlClient(path: socket) }
}

extension FaultCommand {
    struct Inject: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inject a fault into a running hub: i2c.<addr>.absent|nack|timeout|slow|bitflip, component.<name>.crash|hang.",
            discussion: """
                KIND is a fault name (i2c.0x5f.nack) or its pattern without the target \
                (i2c.nack) with --target 0x5f. Prints the fault's id for `hubrig fault clear`.
                """)

        @Argument(help: "The fault: a name such as i2c.0x5f.nack, or i2c.nack with --target.")
        var kind: String

        @Option(help: "What the fault acts on (an I²C address such as 0x5f, a component name).")
        var target: String?

        @Option(name: .customLong("for"), help: "End the fault by itself after this long (e.g. 30s); until cleared otherwise.")
        var duration: String?

        @Option(name: .customLong("param"), help: ArgumentHelp("A parameter as name=value (probability=0.2, stretch=50ms); repeatable.", valueName: "k=v"))
        var parameters: [String] = []

        @OptionGroup var control: ControlSocketOptions

        func run() throws {
            var name = kind
            if let target {
                let parts = kind.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw ValidationError("--target goes with a pattern such as i2c.nack, not \(kind)") }
                name = "\(parts[0]).\(target).\(parts[1])"
            }
            var given: [(String, JSONValue)] = []
            for parameter in parameters {
                guard let equals = parameter.firstIndex(of: "="), equals != parameter.startIndex else {
                    throw ValidationError("--param \(parameter): expected name=value")
                }
                let key = String(parameter[..<equals])
                let text = String(parameter[parameter.index(after: equals)...])
                guard !given.contains(where: { $0.0 == key }) else { throw ValidationError("--param \(key) given twice") }
                given.append((key, Double(text).map { .number($0) } ?? .string(text)))
            }
            var fields: [(String, JSONValue)] = [("fault", .string(name))]
            if !given.isEmpty { fields.append(("parameters", .object(Dictionary(uniqueKeysWithValues: given)))) }
            if let duration { fields.append(("for", .string(duration))) }
            let result = try control.client().request("inject", fields)
            if control.json { print(ControlText.json(result)); return }
            guard case .object(let fault) = result, case .string(let id)? = fault["id"] else { throw ControlClientError.badReply("no fault id") }
            print("\(id) \(name)" + (duration.map { " for \($0)" } ?? ""))
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a fault injected into a running hub, or all of them.")

        @Argument(help: "The fault's id (from `hubrig fault inject` or `hubrig status`).")
        var id: String?

        @Flag(help: "End every injected fault.")
        var all = false

        @OptionGroup var control: ControlSocketOptions

        func validate() throws {
            if (id == nil) == !all { throw ValidationError("give a fault id or --all") }
        }

        func run() throws {
            let result = try control.client().request("clear", id.map { [("fault_id", JSONValue.string($0))] } ?? [("all", .bool(true))])
            if control.json { print(ControlText.json(result)); return }
            guard case .object(let reply) = result, case .array(let cleared)? = reply["cleared"] else { throw ControlClientError.badReply("no cleared list") }
            print(cleared.isEmpty ? "no fault was in force" : "cleared " + cleared.compactMap { if case .string(let s) = $0 { s } else { nil } }.joined(separator: ", "))
        }
    }
}
