/// The known name a mistyped one was most likely meant to be, for "did you mean" hints.
///
/// Hand-written files get typos (`probabilty`, `i2c.0x5f.nak`); an error that names the
/// closest valid spelling saves the reader a trip to the docs. Edit distance (insertions,
/// deletions, substitutions), accepted up to a third of the longer name (at least 2), the
/// first of equally close names winning, so the hint is stable.
public enum ClosestName {
    public static func to(_ name: String, in known: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(Array(name.utf8), Array(candidate.utf8))
            let allowed = max(2, max(name.utf8.count, candidate.utf8.count) / 3)
            if distance <= allowed, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// " (did you mean 'x'?)" or "".
    public static func hint(_ name: String, in known: [String]) -> String {
        to(name, in: known).map { " (did you mean '\($0)'?)" } ?? ""
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
