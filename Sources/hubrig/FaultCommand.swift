import ArgumentParser
import HubSim

struct FaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault", abstract: "The faults scenarios can inject.", subcommands: [List.self])

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
                print("\(kind.pattern)  — \(kind.summary) [\(kind.port)]")
                for parameter in kind.parameters {
                    let needed = parameter.defaultText.map { "default \($0)" } ?? "required"
                    let unit = parameter.unit.map { ", \($0)" } ?? ""
                    print("    \(parameter.name): \(FaultCatalogue.typeName(parameter.kind)) \(parameter.rangeText)\(unit); \(needed) — \(parameter.summary)")
                }
            }
        }
    }
}
