import ArgumentParser
import Foundation
import HubCore
import HubScenario

/// `--tags` and `--questions`: which scenarios of the catalogue a run (or a listing) takes.
struct ScenarioSelection: ParsableArguments {
    @Option(help: "Only the scenarios carrying one of these tags (comma-separated, e.g. live-smoke).")
    var tags: String?

    @Option(help: "Only the scenarios answering one of these Well-Architected questions (comma-separated, e.g. \"REL 11,IOTREL3\"; spaces and case do not matter).")
    var questions: String?

    func validate() throws {
        if let tags, tags.split(separator: ",").isEmpty { throw ValidationError("--tags: give at least one tag") }
        if let questions, questions.split(separator: ",").allSatisfy({ Self.questionKey(String($0)).isEmpty }) {
            throw ValidationError("--questions: give at least one question id, such as REL 11")
        }
    }

    /// `REL 11`, `rel11` and `REL-11` are one question.
    static func questionKey(_ text: String) -> String {
        String(text.uppercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    /// The scenarios both filters keep; none kept is invalid input (exit 2).
    func select(_ scenarios: [Scenario]) throws -> [Scenario] {
        var kept = scenarios
        if let tags {
            let wanted = tags.split(separator: ",").map(String.init)
            kept = kept.filter { scenario in scenario.tags.contains { wanted.contains($0) } }
            if kept.isEmpty {
                printError("no scenario carries a tag of \(wanted.joined(separator: ", "))")
                throw ExitCode(2)
            }
        }
        if let questions {
            let wanted = questions.split(separator: ",").map { Self.questionKey(String($0)) }.filter { !$0.isEmpty }
            kept = kept.filter { scenario in scenario.questions.contains { wanted.contains(Self.questionKey($0)) } }
            if kept.isEmpty {
                let known = Array(Set(scenarios.flatMap(\.questions))).sorted()
                printError("no scenario answers \(wanted.joined(separator: ", ")) (the catalogue answers: \(known.joined(separator: ", ")))")
                throw ExitCode(2)
            }
        }
        return kept
    }
}

/// Every scenario file the paths name (a directory means its `*.yaml`, sorted).
func expandScenarioPaths(_ paths: [String]) throws -> [String] {
    var files: [String] = []
    for path in paths {
        // Anything but a directory goes to the loader, whose error says why it cannot be read.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let yaml = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            if yaml.isEmpty {
                printError("\(path): no *.yaml scenarios in this directory")
                throw ExitCode(2)
            }
            files += yaml.map { (path as NSString).appendingPathComponent($0) }
        } else {
            files.append(path)
        }
    }
    return files
}

/// Loads every file; each invalid one is reported (file, line, column, field), then exit 2.
func loadScenarios(_ files: [String], models: String?) throws -> [Scenario] {
    var scenarios: [Scenario] = []
    var invalid = false
    for file in files {
        do {
            scenarios.append(try ScenarioLoader.load(path: file, models: models))
        } catch {
            printError("invalid scenario: \(error)")
            invalid = true
        }
    }
    if invalid { throw ExitCode(2) }
    return scenarios
}
