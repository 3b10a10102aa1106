import ArgumentParser
import Foundation
import HubCore
import HubInference
import HubScenario

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Model packages.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a model package as the hub loads it (exit 0, or 2 with the precise error).")

        @Argument(help: "The package directory (manifest.json, model.onnx, golden.json).")
        var directory: String

        func run() throws {
            do {
                let package = try ModelPackage.load(directory: directory)
                let m = package.manifest
                print("ok \(m.identifier) (\(m.kind.rawValue)): \(m.features.count) features over \(m.windowLength) samples "
                    + "every \(DurationText.format(m.pollInterval)), stride \(m.windowStride), threshold \(m.threshold), "
                    + "debounce \(m.debounceK) of \(m.debounceN); \(package.goldenCount) golden windows reproduced")
            } catch {
                printError("\(directory): \(error)")
                throw ExitCode(2)
            }
        }
    }
}

/// Loads one package, or every package in the subdirectories of `path`.
func loadPackages(_ path: String) throws -> [ModelPackage] {
    if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("manifest.json")) {
        do { return [try ModelPackage.load(directory: path)] } catch {
            printError("\(path): \(error)")
            throw ExitCode(2)
        }
    }
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    var packages: [ModelPackage] = []
    for name in names {
        let directory = (path as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("manifest.json")) else { continue }
        do { packages.append(try ModelPackage.load(directory: directory)) } catch {
            printError("\(directory): \(error)")
            throw ExitCode(2)
        }
    }
    if packages.isEmpty {
        printError("\(path): no model package here (a directory with manifest.json, or directories of them)")
        throw ExitCode(2)
    }
    return packages
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure detection quality on held-out simulated months with injected failures.",
        discussion: """
            Each seed is a 30-day month of one appliance with \(Evaluation.episodesPerMonth) failure episodes. An \
            episode is detected when the device is declared anomalous between its start and an hour after its end; \
            other alerts (outside episodes and 6 h of recovery) are false alarms.
            """)

    @Option(help: "A model package, or a directory of packages (one per appliance kind).")
    var model: String

    @Option(help: "Seeds as A..B (each one month); use seeds the training never saw.")
    var seeds: String

    @Flag(help: "Print a JSON list with kind, episodes, detected, recall, false_alarms_per_30d, delay_median_min, delay_p90_min.")
    var json = false

    func run() throws {
        let bounds = seeds.components(separatedBy: "..")
        guard bounds.count == 2, let low = UInt64(bounds[0]), let high = UInt64(bounds[1]), low <= high else {
            throw ValidationError("--seeds must be A..B with A ≤ B")
        }
        let packages = try loadPackages(model)
        let reports = Evaluation.run(packages: packages, seeds: low...high)
        if json {
            print(Evaluation.json(reports))
        } else {
            print(Evaluation.table(reports, seeds: low...high))
        }
    }
}
