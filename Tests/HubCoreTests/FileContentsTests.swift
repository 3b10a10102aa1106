import HubCore
import Testing

@Suite("File contents")
struct FileContentsTests {
    @Test("UTF-8 problems are named with offset, line and column", arguments: [
        ([0xFF, 0xFE, 0x61, 0x00], TextEncodingProblem.Kind.utf16ByteOrderMark(littleEndian: true), 0, 1, 1),
        ([0xFE, 0xFF, 0x00, 0x61], .utf16ByteOrderMark(littleEndian: false), 0, 1, 1),
        ([0x61, 0x0A, 0x62, 0x00], .nulByte, 3, 2, 2),
        ([0x61, 0x0A, 0x0A, 0xC3], .invalidUTF8(byte: 0xC3), 3, 3, 1),  // truncated sequence
        ([0xC0, 0xAF], .invalidUTF8(byte: 0xC0), 0, 1, 1),  // overlong '/'
        ([0x61, 0xE0, 0x80, 0xAF], .invalidUTF8(byte: 0x80), 2, 1, 3),  // overlong three-byte form
        ([0xED, 0xA0, 0x80], .invalidUTF8(byte: 0xA0), 1, 1, 2),  // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], .invalidUTF8(byte: 0x90), 1, 1, 2),  // above U+10FFFF
        ([0x80], .invalidUTF8(byte: 0x80), 0, 1, 1),  // a lone continuation byte
    ] as [([UInt8], TextEncodingProblem.Kind, Int, Int, Int)])
    func problems(bytes: [UInt8], kind: TextEncodingProblem.Kind, offset: Int, line: Int, column: Int) {
        #expect(TextEncodingProblem.find(in: bytes) == TextEncodingProblem(kind: kind, offset: offset, line: line, column: column))
    }

    @Test("valid UTF-8 passes, multi-byte characters included")
    func valid() {
        #expect(TextEncodingProblem.find(in: Array("name: Jörg 🔥 €\n".utf8)) == nil)
        #expect(TextEncodingProblem.find(in: []) == nil)
    }

    @Test("the validator agrees with the standard library on random bytes (Fuzz)")
    func agreesWithStandardLibraryFuzz() {
        var random = SeededRandom(seed: Fuzzing.seed(0x07F8))
        let seed = Array("name: Jörg 🔥 €\nseed: 1\n".utf8)
        for number in 0..<Fuzzing.cases(ci: 3_000) {
            let bytes = number % 2 == 0 ? Fuzzing.mutate(seed, &random)
                : (0..<random.nextInt(in: 0...12)).map { _ in UInt8(truncatingIfNeeded: random.next() | 0x80) }
            let standard = String(validating: bytes, as: UTF8.self) != nil && !bytes.contains(0)
            #expect((TextEncodingProblem.find(in: bytes) == nil) == standard, "case \(number): \(bytes)")
        }
    }
}
