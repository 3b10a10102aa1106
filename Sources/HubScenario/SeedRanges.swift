import HubCore

/// The seeds that train, tune and judge the model packages: the one place they are defined.
///
/// Every seed is another simulated unit (setpoint, temperature rise, calibration, household
/// habits are all drawn from it), so a seed range is a set of units. Training fits the
/// model on the training units and sets its alert threshold on the calibration units'
/// normal days; every choice made while developing (features, window, margin) is measured
/// with `hubrig eval` on the validation units, which neither step saw; the test units are
/// run only to report, so their figures say how the packages do on units nobody tuned them for.
/// `training/train.py` reads these ranges from `hubrig eval --seed-ranges`, never its own
/// copy, and docs/models.md documents them.
public enum SeedRanges {
    /// Units whose normal telemetry the autoencoders are fitted on.
    public static let training: ClosedRange<UInt64> = 1001...1100
    /// Units whose normal days set each package's alert threshold in train.py.
    public static let calibration: ClosedRange<UInt64> = 2001...2050
    /// Units for choices made while developing, measured with `hubrig eval`.
    public static let validation: ClosedRange<UInt64> = 2051...2150
    /// Units only for reporting: never used to choose anything.
    public static let test: ClosedRange<UInt64> = 9001...9100

    /// `training`, `calibration`, `validation`, `test`, or `A..B` (A ≤ B): the seeds `text` names, or nil.
    public static func parse(_ text: String) -> ClosedRange<UInt64>? {
        switch text {
        case "training": return training
        case "calibration": return calibration
        case "validation": return validation
        case "test": return test
        default:
            // One A..B reader for eval and scenario sweeps.
            return try? ScenarioSweep.parseSeeds(text)
        }
    }

    /// `{"training": [A, B], "calibration": [A, B], "validation": [A, B], "test": [A, B]}`, for train.py.
    public static var json: String {
        var json = JSONWriter()
        json.beginObject()
        for (name, range) in [("training", training), ("calibration", calibration), ("validation", validation), ("test", test)] {
            json.key(name)
            json.beginArray()
            json.int(Int(range.lowerBound))
            json.int(Int(range.upperBound))
            json.endArray()
        }
        json.endObject()
        return json.string
    }
}
