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
                if let c = m.commissioning {
                    print("   commissioning: \(c.windows) windows, then \(c.factor) × the unit's quiet level (at least \(c.floor) × the threshold)")
                }
                if let rest = m.compressorRest {
                    print("   defrost timer: a compressor rest over \(DurationText.format(rest.restMax)) that begins within "
                        + "\(DurationText.format(rest.defrostInterval)) of the last defrost is a stall (running above \(rest.runningG) g)")
                }
                if let ajar = m.doorAjar {
                    print("   door ajar: \(DurationText.format(ajar.run)) of running in which the air fell at most \(ajar.airFallMax) K, "
                        + "rose at most \(ajar.openingStep) K a sample and read at least \(ajar.humidityMin) %RH (running above \(ajar.runningG) g)")
                }
                if let sway = m.drumSway {
                    print("   drum sway: the interquartile mean of the last \(sway.readings) tumbling readings "
                        + "(\(sway.tumblingMinG)–\(sway.tumblingMaxG) g) above \(sway.levelMaxG) g is a drum out of balance")
                }
            } catch {
                printError("\(directory): \(error)")
                throw ExitCode(2)
            }
        }
    }
}

/// Loads one package, or every package in the subdirectories of `path`.
func loadPackages(_ path: String) throws -> [ModelPackage] {
    if ModelPackage.exists(at: path) {
        do { return [try ModelPackage.load(directory: path)] } catch {
            printError("\(path): \(error)")
            throw ExitCode(2)
        }
    }
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    var packages: [ModelPackage] = []
    for name in names {
        let directory = (path as NSString).appendingPathComponent(name)
        guard ModelPackage.exists(at: directory) else { continue }
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
        abstract: "Measure detection quality on held-out simulated units with injected failures.",
        discussion: """
            Each seed is one unit watched for a \(Evaluation.monthDays)-day month with \(Evaluation.episodesPerMonth) \
            failure episodes. An episode is detected when the device is declared anomalous between its start and an \
            hour after its end; its delay is measured from its onset and from when the physics first showed it. \
            Other alerts (outside episodes and 6 h of recovery) are false alarms: the mean over units per 30 days \
            and the worst unit. Seed ranges: training \(SeedRanges.training.lowerBound)..\(SeedRanges.training.upperBound), \
            calibration (thresholds) \(SeedRanges.calibration.lowerBound)..\(SeedRanges.calibration.upperBound), validation \(SeedRanges.validation.lowerBound)..\(SeedRanges.validation.upperBound) (develop against \
            these), test \(SeedRanges.test.lowerBound)..\(SeedRanges.test.upperBound) (only to report). The wall time \
            goes to standard error.
            """)

    @Option(help: "A model package, or a directory of packages (one per appliance kind).")
    var model: String?

    @Option(help: "Units to evaluate: validation, test, or A..B (use seeds the training never saw).")
    var seeds = "validation"

    @Flag(help: "Print one JSON object per kind with every figure of the table.")
    var json = false

    @Flag(name: .customLong("seed-ranges"), help: "Print the training, calibration, validation and test seed ranges as JSON and exit.")
    var seedRanges = false

    static let unitsMax: UInt64 = 10_000

    func run() throws {
        if seedRanges {
            print(SeedRanges.json)
            return
        }
        guard let model else { throw ValidationError("--model is required (a package or a directory of packages)") }
        guard let range = SeedRanges.parse(seeds) else {
            throw ValidationError("--seeds must be validation, test, calibration, training or A..B with A ≤ B, not \(seeds.debugDescription)")
        }
        guard range.upperBound - range.lowerBound < Self.unitsMax else {
            throw ValidationError("--seeds \(seeds) names more than \(Self.unitsMax) units (a unit-month takes seconds)")
        }
        for (name, used) in [("training", SeedRanges.training), ("calibration", SeedRanges.calibration)] where range.overlaps(used) {
            printError("warning: --seeds \(seeds) overlaps the \(name) units \(used.lowerBound)..\(used.upperBound): not unseen")
        }
        let packages = try loadPackages(model)
        let started = ContinuousClock.now
        let reports = Evaluation.run(packages: packages, seeds: range)
        let elapsed = ContinuousClock.now - started
        if json {
            print(Evaluation.json(reports))
        } else {
            print(Evaluation.table(reports, seeds: range))
        }
        printError("eval: \(range.count * packages.count) unit-months in \(TextFormat.fixed(elapsed.secondsValue, decimals: 1)) s wall time")
    }
}
