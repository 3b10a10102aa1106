import ArgumentParser
import Foundation
import CMalloc
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
        subcommands: [ScenarioCommand.self, SimCommand.self, ModelCommand.self, EvalCommand.self, BenchCommand.self, FleetCommand.self, FaultCommand.self, StatusCommand.self, CloudCommand.self, ReportCommand.self])

    static func main() {
        keepFreedMemory()
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

/// Lets glibc keep up to 64 MiB of freed memory at the top of each heap instead of handing
/// it back to the kernel at once.
///
/// Why: a simulated hub frees and allocates the same few hundred kilobytes over and over
/// (zlib's deflate state for every telemetry batch, the inflate window of the simulated
/// cloud), and glibc's default trims the heap every time, so each batch cost an munmap, a
/// TLB shootdown on the other core and a page fault per page on the next allocation:
/// 5–7 % of `hubrig eval`'s wall time was the kernel. The rig is a batch tool on a
/// workstation or a CI machine; the hub itself (a Pi) keeps glibc's default.
private func keepFreedMemory() {
    _ = mallopt(M_TRIM_THRESHOLD, 64 << 20)
}
