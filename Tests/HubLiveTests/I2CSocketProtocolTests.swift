import HubCore
import HubLive
import Testing

@Suite("I²C socket wire protocol")
struct I2CSocketProtocolTests {
    static let registerRead: [I2CWireMessage] = [.write(0x5F, [0x8F]), .read(0x5F, count: 3)]

    @Test("a register read encodes as count, then headers, with data only for the write")
    func layout() throws {
        let frame = try I2CWire.encodeRequest(Self.registerRead)
        #expect(frame == [
            0x02, 0x00,                                 // two messages
            0x5F, 0x00, 0x00, 0x00, 0x01, 0x00, 0x8F,   // write 1 byte to 0x5F: 0x8F
            0x5F, 0x00, 0x01, 0x00, 0x03, 0x00,         // read 3 bytes from 0x5F
        ])
    }

    @Test("requests survive a round trip, up to 42 messages and 8192-byte writes")
    func requestRoundTrip() throws {
        let frame = [UInt8](repeating: 0xA5, count: 193)
        let cases: [[I2CWireMessage]] = [
            Self.registerRead,
            [.write(0x46, frame)],
            [.write(0x1C, [])],
            [.read(0x6A, count: 0)],
            [.write(0x10, [UInt8](repeating: 7, count: I2CWire.maxMessageLength))],
            (0..<I2CWire.maxMessages).map { .write(UInt8($0), [UInt8($0)]) },
            [I2CWireMessage(address: 0x3FF, flags: 0x0011, bytes: [], readLength: 2)],  // 10-bit read: travels, server refuses
        ]
        for messages in cases {
            #expect(try I2CWire.decodeRequest(I2CWire.encodeRequest(messages)) == messages)
        }
    }

    @Test("replies survive a round trip: read payloads in order, or an errno")
    func replyRoundTrip() throws {
        let success = I2CWireReply.success(reads: [[0xBC], [1, 2, 3]])
        let frame = I2CWire.encodeReply(success)
        #expect(frame == [0, 0, 0, 0, 0xBC, 1, 2, 3])
        #expect(try I2CWire.decodeReply(frame, readLengths: [1, 3]) == success)

        let failure = I2CWireReply.failure(errno: 121)  // EREMOTEIO
        #expect(I2CWire.encodeReply(failure) == [121, 0, 0, 0])
        #expect(try I2CWire.decodeReply(I2CWire.encodeReply(failure), readLengths: [1, 3]) == failure)
    }

    @Test("every truncation of a request is reported as truncated, never decoded")
    func truncatedRequests() throws {
        let frame = try I2CWire.encodeRequest(Self.registerRead)
        for length in 0..<frame.count {
            let error = #expect(throws: I2CWireError.self) { try I2CWire.decodeRequest(Array(frame[0..<length])) }
            guard case .truncated(let expected, let got) = error else {
                Issue.record("length \(length): \(String(describing: error))")
                continue
            }
            #expect(got == length)
            #expect(expected > length)
        }
        #expect(try I2CWire.parseRequest(frame[0..<5]).isIncomplete)
    }

    @Test("malformed requests give typed errors naming what is wrong")
    func malformedRequests() throws {
        #expect(throws: I2CWireError.badMessageCount(0)) { try I2CWire.decodeRequest([0, 0]) }
        #expect(throws: I2CWireError.badMessageCount(43)) { try I2CWire.decodeRequest([43, 0]) }
        #expect(throws: I2CWireError.messageTooLong(index: 0, length: 8193)) {
            try I2CWire.decodeRequest([1, 0, 0x5F, 0, 1, 0, 0x01, 0x20])
        }
        #expect(throws: I2CWireError.trailingBytes(count: 2)) {
            try I2CWire.decodeRequest([1, 0, 0x5F, 0, 1, 0, 1, 0, 0xEE, 0xEE])
        }
        #expect(throws: I2CWireError.badMessageCount(43)) {
            try I2CWire.encodeRequest(Array(repeating: .read(0x5F, count: 1), count: 43))
        }
        #expect(throws: I2CWireError.messageTooLong(index: 0, length: 8193)) {
            try I2CWire.encodeRequest([.write(0x46, [UInt8](repeating: 0, count: 8193))])
        }
        #expect(throws: I2CWireError.inconsistentMessage(index: 0, detail: "a read carries 1 bytes")) {
            try I2CWire.encodeRequest([I2CWireMessage(address: 0x5F, flags: 1, bytes: [1], readLength: 1)])
        }
    }

    @Test("malformed replies give typed errors")
    func malformedReplies() throws {
        #expect(throws: I2CWireError.badStatus(-1)) { try I2CWire.decodeReply([0xFF, 0xFF, 0xFF, 0xFF], readLengths: []) }
        #expect(throws: I2CWireError.truncated(expected: 6, got: 5)) { try I2CWire.decodeReply([0, 0, 0, 0, 9], readLengths: [2]) }
        #expect(throws: I2CWireError.trailingBytes(count: 1)) { try I2CWire.decodeReply([5, 0, 0, 0, 9], readLengths: [2]) }
        #expect(throws: I2CWireError.readsMismatch(expected: [3], got: [1])) {
            try I2CWire.validate(.success(reads: [[1]]), for: Self.registerRead)
        }
    }

    /// Fuzz harness (docs/fuzzing.md): random frames, bit-flipped and truncated valid ones,
    /// and the shared mutator's operators.
    @Test("random bytes and corrupted frames never crash the decoders (Fuzz)")
    func decodersFuzz() throws {
        var random = SeededRandom(seed: Fuzzing.seed(0x12C))
        let valid = try I2CWire.encodeRequest(Self.registerRead + [.write(0x46, [UInt8](repeating: 3, count: 40))])
        var decoded = 0
        var rejected = 0
        for round in 0..<Fuzzing.cases(ci: 20_000) {
            var bytes: [UInt8]
            if round % 3 == 2 {
                bytes = Fuzzing.mutate(valid, &random)
            } else if round % 3 == 0 {
                bytes = (0..<random.nextInt(in: 0...64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                // Small counts and lengths reach the deeper paths more often than raw noise.
                if bytes.count >= 2, random.chance(0.5) { bytes[0] = UInt8(random.nextInt(in: 0...4)); bytes[1] = 0 }
            } else {
                bytes = valid
                for _ in 0..<random.nextInt(in: 1...3) {
                    bytes[random.nextInt(in: 0...(bytes.count - 1))] ^= UInt8(1 << random.nextInt(in: 0...7))
                }
                bytes = Array(bytes.prefix(random.nextInt(in: 0...bytes.count)))
            }
            do {
                let messages = try I2CWire.decodeRequest(bytes)
                #expect((1...I2CWire.maxMessages).contains(messages.count))
                // Whatever decodes must encode back to the same bytes.
                #expect(try I2CWire.encodeRequest(messages) == bytes)
                decoded += 1
            } catch {
                rejected += 1
            }
            _ = try? I2CWire.decodeReply(bytes, readLengths: [random.nextInt(in: 0...8), random.nextInt(in: 0...8)])
        }
        #expect(decoded > 100)
        #expect(rejected > 100)
    }
}

extension I2CWire.Parsed {
    var isIncomplete: Bool {
        if case .incomplete = self { return true }
        return false
    }
}
