import HubCore
import Testing

@Suite("Semantic versions and version ranges")
struct SemanticVersionTests {
    @Test("versions order by major, minor, patch as numbers")
    func ordering() throws {
        let texts = ["0.0.1", "0.1.0", "0.10.0", "1.0.0", "1.2.3", "1.10.0", "2.0.0", "10.0.0"]
        let versions = try texts.map { try SemanticVersion(parsing: $0) }
        #expect(versions == versions.sorted())
        #expect(versions.map(\.description) == texts)
    }

    @Test("malformed versions are refused with the reason", arguments: [
        ("1.2", "is not MAJOR.MINOR.PATCH"), ("1.2.3.4", "is not MAJOR.MINOR.PATCH"), ("", "is not MAJOR.MINOR.PATCH"),
        ("1..3", "digits only"), ("v1.2.3", "digits only"), ("1.2.-3", "digits only"), ("1.2.3-beta", "digits only"),
        ("01.2.3", "leading zero"), ("1.2.3 ", "digits only"), ("1000000000.0.0", "above 999999999"),
        ("99999999999999999999.0.0", "above 999999999"), ("١.٢.٣", "digits only"),
    ])
    func malformed(text: String, reason: String) {
        #expect(throws: VersionError.self) { try SemanticVersion(parsing: text) }
        do { _ = try SemanticVersion(parsing: text) } catch { #expect(error.description.contains(reason), "\(error)") }
    }

    @Test("ranges admit what npm's notation says", arguments: [
        ("1.2.3", ["1.2.3"], ["1.2.4", "1.2.2"]),
        ("=1.2.3", ["1.2.3"], ["1.3.0"]),
        ("^1.2.3", ["1.2.3", "1.9.9"], ["2.0.0", "1.2.2"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~1.2.3", ["1.2.3", "1.2.99"], ["1.3.0"]),
        (">=1.0.0 <2.0.0", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.9"]),
        (">1.0.0 <=1.1.0", ["1.0.1", "1.1.0"], ["1.0.0", "1.1.1"]),
        ("*", ["0.0.0", "99.0.0"], []),
        ("1.0.0 || ^3.0.0", ["1.0.0", "3.4.0"], ["2.0.0"]),
    ])
    func ranges(text: String, admitted: [String], refused: [String]) throws {
        let range = try VersionRange(parsing: text)
        for version in admitted { #expect(range.admits(try SemanticVersion(parsing: version)), "\(text) admits \(version)") }
        for version in refused { #expect(!range.admits(try SemanticVersion(parsing: version)), "\(text) refuses \(version)") }
    }

    @Test("malformed ranges are refused naming the bad part", arguments: ["", "  ", "^", ">=1.0", "1.0.0 ||", "|| 1.0.0", "~>1.0.0", "latest", "^1.2.3-rc1"])
    func malformedRanges(text: String) {
        #expect(throws: VersionError.self) { try VersionRange(parsing: text) }
    }

    @Test("a range with thousands of alternatives is refused before any work")
    func hostileRange() {
        let text = Array(repeating: "1.0.0", count: 10_000).joined(separator: " || ")
        do { _ = try VersionRange(parsing: text); Issue.record("accepted") } catch { #expect(error.reason.contains("more than 16 alternatives")) }
        let long = Array(repeating: ">=1.0.0", count: 100).joined(separator: " ")
        #expect(throws: VersionError.self) { try VersionRange(parsing: long) }
    }

    @Test("parsing random text never traps, and what parses prints back as itself")
    func fuzz() {
        let seeds = ["1.2.3", "^1.2.3 || >=2.0.0 <3.0.0", "~0.0.1", "*"].map { Array($0.utf8) }
        let tally = Fuzzing.run(seeds: seeds, base: 0x5E7E_8, ci: 5_000) { _, bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            if let version = try? SemanticVersion(parsing: text) { #expect(version.description == text) }
            return (try? VersionRange(parsing: text)) != nil
        }
        #expect(tally.accepted > 0 && tally.refused > 0, "\(tally)")
        #expect(tally.slow.isEmpty)
    }
}

@Suite("Topic filter coverage")
struct TopicFilterCoverageTests {
    @Test("a granted filter covers narrower subscriptions only", arguments: [
        ("a/+", "a/b", true), ("a/+", "a/+", true), ("a/+", "a/#", false), ("a/+", "a/b/c", false),
        ("a/#", "a/b/c", true), ("a/#", "a", true), ("a/#", "a/#", true), ("a/#", "#", false),
        ("#", "a/#", true), ("#", "$SYS/x", false), ("+/x", "$SYS/x", false), ("$SYS/#", "$SYS/x", true),
        ("a/b", "a/b", true), ("a/b", "a/+", false), ("a", "a/b", false), ("a/b", "a", false),
        ("hbs/health/#", "hbs/health/uplink", true), ("dt/local/sensor/+", "dt/local/#", false),
    ])
    func covers(granted: String, asked: String, expected: Bool) throws {
        #expect(try TopicFilter(validating: granted).covers(try TopicFilter(validating: asked)) == expected)
    }

    @Test("coverage agrees with matching on every topic tried")
    func agreesWithMatching() throws {
        let filters = try ["a", "a/b", "a/+", "a/#", "+/b", "+", "#", "a/+/c", "+/+", "a/b/#"].map { try TopicFilter(validating: $0) }
        let topics = try ["a", "a/b", "a/c", "b/b", "a/b/c", "a/x/c", "x", "a/b/c/d"].map { try Topic(validating: $0) }
        for granted in filters {
            for asked in filters where granted.covers(asked) {
                for topic in topics where asked.matches(topic) {
                    #expect(granted.matches(topic), "\(granted) covers \(asked) but not \(topic)")
                }
            }
        }
    }
}
