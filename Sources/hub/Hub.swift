import ArgumentParser
import HubLive

/// The hub executable: the Home Base Solutions smart hub.
@main
struct Hub: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The Home Base Solutions smart hub.",
        subcommands: [Run.self, I2CDetect.self, Version.self])

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the hub's and its C libraries' versions.")

        func run() {
            print("hub 0.1.0")
            print("libmosquitto \(SystemLibraries.mosquittoVersion)")
            print("libgpiod \(SystemLibraries.gpiodVersion)")
        }
    }
}
