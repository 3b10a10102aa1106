import ArgumentParser
import Foundation
import HubLive

/// The hub executable: the Home Base Solutions smart hub.
///
/// Exit codes match the rig's: 0 a clean stop, 2 invalid input (arguments, limits,
/// unreadable files), so scripts that drive both read one convention, not
/// ArgumentParser's 64.
@main
struct Hub: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The Home Base Solutions smart hub.",
        subcommands: [Run.self, Component.self, Recipes.self, Kit.self, I2CDetect.self, Version.self])

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the hub's and its C libraries' versions.")

        func run() {
            print("hub 0.1.0")
            print("libmosquitto \(SystemLibraries.mosquittoVersion)")
            print("libgpiod \(SystemLibraries.gpiodVersion)")
        }
    }
}
