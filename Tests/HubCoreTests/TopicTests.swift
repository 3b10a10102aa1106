import HubCore
import Testing

@Suite("Topic names and filters")
struct TopicTests {
    @Test("MQTT wildcard matching follows the table", arguments: [
        ("dt/local/sensor/+", "dt/local/sensor/hvac", true),
        ("dt/local/sensor/+", "dt/local/sensor/hvac/extra", false),
        ("dt/local/sensor/+", "dt/local/sensor", false),
        ("dt/local/#", "dt/local/sensor/hvac", true),
        ("dt/local/#", "dt/local", true),
        ("dt/local/#", "dt/remote/x", false),
        ("#", "anything/at/all", true),
        ("+/+", "a/b", true),
        ("+/+", "a/b/c", false),
        ("+", "a", true),
        ("a/+/c", "a/b/c", true),
        ("a/+/c", "a/b/d", false),
        ("a/b", "a/b", true),
        ("a/b", "a/bb", false),
        ("a//c", "a//c", true),
        ("a/+/c", "a//c", true),
        ("#", "$SYS/broker", false),
        ("+/broker", "$SYS/broker", false),
        ("$SYS/#", "$SYS/broker", true),
        ("hbs/alerts/+", "hbs/alerts/hvac", true),
    ])
    func matching(filter: String, topic: String, expected: Bool) throws {
        let f = try TopicFilter(validating: filter)
        let t = try Topic(validating: topic)
        #expect(f.matches(t) == expected)
    }

    @Test("invalid names and filters are refused with the reason")
    func validation() {
        #expect(throws: TopicError.empty) { try Topic(validating: "") }
        #expect(throws: TopicError.wildcardInTopicName("a/+")) { try Topic(validating: "a/+") }
        #expect(throws: TopicError.wildcardInTopicName("a/#")) { try Topic(validating: "a/#") }
        #expect(throws: TopicError.misplacedMultiLevelWildcard("a/#/b")) { try TopicFilter(validating: "a/#/b") }
        #expect(throws: TopicError.misplacedMultiLevelWildcard("a/b#")) { try TopicFilter(validating: "a/b#") }
        #expect(throws: TopicError.misplacedSingleLevelWildcard("a/b+")) { try TopicFilter(validating: "a/b+") }
        #expect(throws: TopicError.containsNul("a\u{0}b")) { try Topic(validating: "a\u{0}b") }
        #expect(throws: TopicError.tooLong(65_536)) { try Topic(validating: String(repeating: "a", count: 65_536)) }
    }

    @Test("the hub's topic helpers build the book's names")
    func hubTopics() {
        #expect(Topic.sensorReading("hvac").name == "dt/local/sensor/hvac")
        #expect(Topic.inference("hvac").name == "hbs/inference/hvac")
        #expect(Topic.alert("hvac").name == "hbs/alerts/hvac")
        #expect(Topic.cloudTelemetry("hbshub001").name == "hbs/hbshub001/telemetry")
    }

    @Test("random topic strings never crash the validator or matcher")
    func fuzz() {
        var random = SeededRandom(seed: 99)
        let alphabet: [Character] = ["a", "b", "/", "+", "#", "$", "\u{0}", "é"]
        for _ in 0..<5_000 {
            let length = random.nextInt(in: 0...8)
            let text = String((0..<length).map { _ in alphabet[random.nextInt(in: 0...(alphabet.count - 1))] })
            let filter = try? TopicFilter(validating: text)
            let topic = try? Topic(validating: text)
            if let filter, let topic {
                #expect(filter.matches(topic), "a wildcard-free filter matches its own topic: \(text.debugDescription)")
            }
            if topic != nil { #expect(!text.contains("+") && !text.contains("#")) }
        }
    }

    @Test("levels are what splitting at every / by characters gives, for ASCII and other names")
    func levels() {
        let names = ["", "/", "//", "a", "a/b", "a//b", "/a/", "hbs/kits/washer/telemetry", "dt/local/sensor/hvac",
                     "a\r\n/b", "é/x", "a/\u{301}b", "/\u{301}", "x/y/z/\u{1F600}/w", String(repeating: "ab/", count: 50)]
        for name in names {
            #expect(Topic.levels(of: name) == name.split(separator: "/", omittingEmptySubsequences: false), "\(name.debugDescription)")
        }
    }
}
