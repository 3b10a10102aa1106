import HubCore

/// The report people read: one self-contained HTML file (no external assets).
///
/// PLACEHOLDER: being built.
public enum HTMLReport {
    public static func render(_ report: ScenarioReport, title: String = "hubrig scenarios") -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(title)</title></head><body></body></html>\n"
    }
}
