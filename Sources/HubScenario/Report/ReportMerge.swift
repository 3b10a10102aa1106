/// Joins the reports of shards into the report of the whole run (`hubrig report merge`).
///
/// Shards split a sweep's (scenario, seed) runs, and each shard's file lists every
/// scenario of the run, so the first file gives the catalogue's order. A scenario's runs
/// are joined in seed order and its timeline is the one of the lowest failing seed, else
/// the lowest seed — the choice one machine running everything makes — so the merged
/// report equals the unsharded one. Shards that disagree on what a scenario is, or that
/// both ran one seed, are an error: that is two different runs, not two halves of one.
extension ScenarioReport {
    public static func merge(_ parts: [(file: String, report: ScenarioReport)]) throws(ReportMergeError) -> ScenarioReport {
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var seedSource: [String: [UInt64: String]] = [:]
        for part in parts {
            for entry in part.report.entries {
                let key = Self.key(entry.file, entry.name)
                if let at = index[key] {
                    let known = entries[at]
                    for (field, mine, theirs) in [("pillar", known.pillar ?? "", entry.pillar ?? ""),
                                                  ("questions", known.questions.joined(separator: ","), entry.questions.joined(separator: ",")),
                                                  ("tags", known.tags.joined(separator: ","), entry.tags.joined(separator: ",")),
                                                  ("modes", known.modes.joined(separator: ","), entry.modes.joined(separator: ",")),
                                                  ("duration_s", String(known.durationSeconds), String(entry.durationSeconds))] where mine != theirs {
                        throw ReportMergeError(file: part.file, reason: "scenario \(entry.name) (\(entry.file)) has \(field) \(theirs.debugDescription) here but \(mine.debugDescription) in an earlier file: shards of one run come from one catalogue")
                    }
                    entries[at].runs += entry.runs
                    // The shown timeline is the one `timelineSeed` would choose of the two.
                    if let seed = entry.timelineSeed, let timeline = entry.timeline,
                       ScenarioReport.Entry.timelineSeed(entries[at].runs.filter { $0.seed == seed || $0.seed == known.timelineSeed }) == seed {
                        entries[at].timelineSeed = seed
                        entries[at].timeline = timeline
                    }
                } else {
                    index[key] = entries.count
                    entries.append(entry)
                }
                for run in entry.runs {
                    if let other = seedSource[key, default: [:]][run.seed] {
                        throw ReportMergeError(file: part.file, reason: "scenario \(entry.name) seed \(run.seed) is also in \(other): shards must not overlap")
                    }
                    seedSource[key, default: [:]][run.seed] = part.file
                }
            }
        }
        for at in entries.indices { entries[at].runs.sort { $0.seed < $1.seed } }
        return ScenarioReport(entries: entries)
    }
}

/// Report files that cannot be joined, and why.
public struct ReportMergeError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
