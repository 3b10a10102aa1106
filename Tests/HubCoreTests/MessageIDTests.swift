import HubCore
import Testing

/// `MessageID.sequence` reads the common `<thing>-<digits>` straight from the bytes; these
/// cases pin that it answers exactly as the general parse (after the last `-`, `Int64`,
/// positive) on the ids around the fast path's edges.
@Suite("MessageID")
struct MessageIDTests {
    static let cases: [(id: String, sequence: Int64?)] = [
        ("hbshub001-1", 1),
        ("hbshub001-8641", 8641),
        ("hbs-hub-001-42", 42),
        ("hub-007", 7),
        ("hub-0", nil),
        ("hub-000", nil),
        ("hub-", nil),
        ("hub", nil),
        ("12345", nil),
        ("-5", 5),
        ("hub--5", 5),
        ("hub-+5", 5),
        ("hub-5a", nil),
        ("hub-a5", nil),
        ("hub-999999999999999999", 999_999_999_999_999_999),
        ("hub-9223372036854775807", Int64.max),
        ("hub-9223372036854775808", nil),
        ("hub-batch-1-30", 30),
        ("hüb-12", 12),
    ]

    @Test("the sequence after the last dash, as Int64 reads it, positive only", arguments: cases)
    func sequence(id: String, sequence: Int64?) {
        #expect(MessageID.sequence(of: id) == sequence)
    }

    @Test("made and read back")
    func roundTrip() {
        for sequence: Int64 in [1, 9, 10, 123_456, Int64.max] {
            let id = MessageID.make(thing: "hbshub001", sequence: sequence)
            #expect(MessageID.sequence(of: id) == sequence)
            #expect(MessageID.sequence(of: id, thing: "hbshub001") == sequence)
        }
    }
}
