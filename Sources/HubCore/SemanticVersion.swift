import Foundation

/// A component's or a package's version, `MAJOR.MINOR.PATCH`, ordered as Semantic Versioning
/// orders release versions.
///
/// Recipes name their dependencies by version range and deployments pin versions, so the
/// supervisor has to compare them; pre-release and build suffixes are refused rather than
/// half-supported, because no component here ships one and a suffix that silently compared
/// equal to its release would let a test build satisfy a production range.
public struct SemanticVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        precondition(major >= 0 && minor >= 0 && patch >= 0, "version parts are non-negative")
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Each part at most this: enough for any real release, small enough that `^` and `~`
    /// bounds never overflow.
    public static let partMaximum = 999_999_999

    /// Parses `MAJOR.MINOR.PATCH`: decimal digits only, no leading zeros (as SemVer says).
    public init(parsing text: String) throws(VersionError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw VersionError(text: text, reason: "is not MAJOR.MINOR.PATCH") }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw VersionError(text: text, reason: "is not MAJOR.MINOR.PATCH (digits only)")
            }
            guard part == "0" || part.first != "0" else { throw VersionError(text: text, reason: "has a leading zero") }
            guard part.count <= 9, let number = Int(part), number <= Self.partMaximum else {
                throw VersionError(text: text, reason: "has a part above \(Self.partMaximum)")
            }
            numbers.append(number)
        }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}

/// A set of acceptable versions, written as npm and Cargo write them: `1.2.3` (exactly),
/// `^1.2.3` (compatible: same major, or same minor below 1.0), `~1.2.3` (same minor),
/// comparators `>=1.0.0 <2.0.0` (all must hold), `*` (any), and alternatives joined by `||`.
///
/// The notation is the one people already read in package manifests; inventing another
/// would only make recipes harder to review.
public struct VersionRange: Equatable, Sendable, CustomStringConvertible {
    /// One comparator: `op version`.
    public struct Comparator: Equatable, Sendable {
        public enum Operator: String, Sendable { case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "=" }
        public var op: Operator
        public var version: SemanticVersion

        func admits(_ candidate: SemanticVersion) -> Bool {
            switch op {
            case .less: candidate < version
            case .lessOrEqual: candidate <= version
            case .greater: candidate > version
            case .greaterOrEqual: candidate >= version
            case .equal: candidate == version
            }
        }
    }

    /// Alternatives; each is a conjunction of comparators (an empty one admits everything).
    public private(set) var alternatives: [[Comparator]]
    /// The text it was written as, for messages.
    public let text: String

    /// Alternatives at most, comparators per alternative at most: a range is a line in a
    /// recipe, and a parser must bound the work a hostile one asks for.
    public static let alternativesMaximum = 16
    public static let comparatorsMaximum = 16

    public init(parsing text: String) throws(VersionError) {
        self.text = text
        alternatives = []
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw VersionError(text: text, reason: "is an empty range (write * for any version)") }
        let parts = trimmed.components(separatedBy: "||")
        guard parts.count <= Self.alternativesMaximum else {
            throw VersionError(text: text, reason: "has more than \(Self.alternativesMaximum) alternatives")
        }
        for part in parts {
            let words = part.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard !words.isEmpty else { throw VersionError(text: text, reason: "has an empty alternative around ||") }
            guard words.count <= Self.comparatorsMaximum else {
                throw VersionError(text: text, reason: "has more than \(Self.comparatorsMaximum) comparators in one alternative")
            }
            var conjunction: [Comparator] = []
            for word in words { conjunction += try Self.comparators(word, in: text) }
            alternatives.append(conjunction)
        }
    }

    /// Exactly `version`.
    public init(exactly version: SemanticVersion) {
        text = version.description
        alternatives = [[Comparator(op: .equal, version: version)]]
    }

    public func admits(_ version: SemanticVersion) -> Bool {
        alternatives.contains { $0.allSatisfy { $0.admits(version) } }
    }

    public var description: String { text }

    public static func == (a: Self, b: Self) -> Bool { a.alternatives == b.alternatives }

    private static func comparators(_ word: String, in text: String) throws(VersionError) -> [Comparator] {
        if word == "*" || word == "x" { return [] }
        for (prefix, op) in [("<=", Comparator.Operator.lessOrEqual), (">=", .greaterOrEqual), ("<", .less), (">", .greater), ("=", .equal)]
        where word.hasPrefix(prefix) {
            return [Comparator(op: op, version: try version(String(word.dropFirst(prefix.count)), in: text))]
        }
        if word.hasPrefix("^") {
            let base = try version(String(word.dropFirst()), in: text)
            let upper = base.major > 0 ? SemanticVersion(base.major + 1, 0, 0)
                : base.minor > 0 ? SemanticVersion(0, base.minor + 1, 0) : SemanticVersion(0, 0, base.patch + 1)
            return [Comparator(op: .greaterOrEqual, version: base), Comparator(op: .less, version: upper)]
        }
        if word.hasPrefix("~") {
            let base = try version(String(word.dropFirst()), in: text)
            return [Comparator(op: .greaterOrEqual, version: base), Comparator(op: .less, version: SemanticVersion(base.major, base.minor + 1, 0))]
        }
        return [Comparator(op: .equal, version: try version(word, in: text))]
    }

    private static func version(_ word: String, in text: String) throws(VersionError) -> SemanticVersion {
        do { return try SemanticVersion(parsing: word) } catch {
            throw VersionError(text: text, reason: "has \(word.debugDescription), which \(error.reason)")
        }
    }
}

/// A version or range that does not parse, naming the text and what is wrong with it.
public struct VersionError: Error, Equatable, Sendable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "\(text.debugDescription) \(reason)" }
}
