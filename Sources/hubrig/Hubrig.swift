import ArgumentParser
import Foundation
import HubScenario

/// The rig's command line: scenario runs for CI, benchmarks.
///
/// Exit codes are part of the interface CI relies on: 0 all expectations held, 1 one
/// failed, 2 the input (arguments or scenario files) was invalid.
@main
struct Hubrig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hubrig",
        abstract: "Simulation and hardware-in-the-loop test rig for the HBS smart hub.",
        subcommands: [ScenarioCommand.self, SimCommand.self, ModelCommand.self, EvalCommand.self, BenchCommand.self, FleetCommand.self, FaultCommand.self, CloudCommand.self])

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
