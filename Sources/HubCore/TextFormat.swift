/// Plain-text number and column formatting for the LED scroll and the rig's tables.
///
/// Without Foundation's formatters, whose output depends on the locale: "21.40" must read
/// the same on every machine and in every byte-compared log.
public enum TextFormat {
    /// `value` with exactly `decimals` digits after the point (rounded half away from zero).
    public static func fixed(_ value: Double, decimals: Int) -> String {
        precondition((0...9).contains(decimals), "0...9 decimals")
        var scale = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((abs(value) * Double(scale)).rounded())
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(scaled) }
        let fraction = String(scaled % scale)
        return sign + String(scaled / scale) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// `text` padded with spaces to `width` columns, with at least one space after it.
    public static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }

    /// `1234567` as `1,234,567`.
    public static func grouped(_ value: Int) -> String {
        var digits = String(value.magnitude)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits = String(digits.dropLast(3))
        }
        return (value < 0 ? "-" : "") + digits + out
    }
}
