import Foundation
import HubCore
import HubDrivers
import HubLive
import HubSim
import Testing

/// The fuzz harness of the I²C socket protocol (the frames `hubrig sim i2c-serve` and the
/// LD_PRELOAD shim exchange).
///
/// A fixed seed and a fixed number of cases in the normal run; set HUBRIG_FUZZ_CASES (for
/// example 1000000) for a longer run with the same generators. Each case is random bytes
/// or a valid frame put through a mutator (bit flips, truncation, huge or zero counts and
/// lengths, inserted and deleted bytes, trailing garbage). Beyond "never traps" every
/// case checks a property: what decodes re-encodes to the same bytes, what is refused is
/// refused with a typed error whose numbers are consistent, a stream cut at random points
/// parses to the same frames, and the server keeps serving after any of them.
@Suite("I²C socket protocol fuzzing")
struct I2CSocketProtocolFuzzTests {
    /// Cases per test: HUBRIG_FUZZ_CASES when set, else `normal`.
    static func cases(normal: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment["HUBRIG_FUZZ_CASES"] else { return normal }
        guard let value = Int(text), value > 0 else {
            Issue.record("HUBRIG_FUZZ_CASES=\(text) is not a positive whole number")
            return normal
        }
        return value
    }

    /// A random valid request: 1...42 messages (mostly few), reads and writes, any address
    /// and flags, lengths mostly small with the occasional long one.
    static func randomMessages(_ random: inout SeededRandom) -> [I2CWireMessage] {
        let count = random.chance(0.9) ? random.nextInt(in: 1...4) : random.nextInt(in: 1...I2CWire.maxMessages)
        return (0..<count).map { _ in
            let address = random.chance(0.8) ? UInt16(random.nextInt(in: 0...0x7F)) : UInt16(truncatingIfNeeded: random.next())
            var flags: UInt16 = random.chance(0.5) ? I2CWire.readFlag : 0
            if random.chance(0.1) { flags |= UInt16(truncatingIfNeeded: random.next()) & ~I2CWire.readFlag }
            let length = random.chance(0.95) ? random.nextInt(in: 0...16) : random.nextInt(in: 0...I2CWire.maxMessageLength)
            if flags & I2CWire.readFlag != 0 {
                return I2CWireMessage(address: address, flags: flags, bytes: [], readLength: length)
            }
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            return I2CWireMessage(address: address, flags: flags, bytes: bytes, readLength: 0)
        }
    }

    static func pick<T>(_ values: [T], _ random: inout SeededRandom) -> T {
        values[random.nextInt(in: 0...(values.count - 1))]
    }

    static func putU16(_ bytes: inout [UInt8], at offset: Int, _ value: UInt16) {
        guard offset + 1 < bytes.count else { return }
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    /// Offsets of the u16 `len` fields of a valid request frame.
    static func lengthFields(_ messages: [I2CWireMessage]) -> [Int] {
        var offset = 2
        var fields: [Int] = []
        for message in messages {
            fields.append(offset + 4)
            offset += 6 + (message.isRead ? 0 : message.bytes.count)
        }
        return fields
    }

    /// One fuzz input: random bytes, or a valid frame through one or more mutators.
    static func mutatedFrame(_ random: inout SeededRandom) throws -> [UInt8] {
        if random.chance(0.2) {
            var bytes = (0..<random.nextInt(in: 0...96)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // Small counts reach the deeper paths more often than raw noise does.
            if bytes.count >= 2, random.chance(0.5) { putU16(&bytes, at: 0, UInt16(random.nextInt(in: 0...4))) }
            return bytes
        }
        let messages = randomMessages(&random)
        var bytes = try I2CWire.encodeRequest(messages)
        for _ in 0..<random.nextInt(in: 1...3) {
            switch random.nextInt(in: 0...7) {
            case 0:  // bit flips anywhere
                guard !bytes.isEmpty else { break }
                bytes[random.nextInt(in: 0...(bytes.count - 1))] ^= UInt8(1) << UInt8(random.nextInt(in: 0...7))
            case 1:  // truncation
                bytes = Array(bytes.prefix(random.nextInt(in: 0...bytes.count)))
            case 2:  // a huge, limit-edge or zero length in a header
                let field = pick(lengthFields(messages), &random)
                let value = pick([UInt16.max, UInt16(I2CWire.maxMessageLength + 1), UInt16(I2CWire.maxMessageLength), 0, 0x8000], &random)
                putU16(&bytes, at: field, value)
            case 3:  // a message count out of range, or merely wrong
                putU16(&bytes, at: 0, pick([0, UInt16(I2CWire.maxMessages + 1), UInt16.max, UInt16(messages.count + 1), 1], &random))
            case 4:  // inserted garbage
                let at = random.nextInt(in: 0...bytes.count)
                bytes.insert(contentsOf: (0..<random.nextInt(in: 1...8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
            case 5:  // deleted bytes
                guard !bytes.isEmpty else { break }
                let at = random.nextInt(in: 0...(bytes.count - 1))
                bytes.removeSubrange(at..<min(bytes.count, at + random.nextInt(in: 1...8)))
            case 6:  // trailing garbage
                bytes += (0..<random.nextInt(in: 1...16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            default:  // flags flipped to read or write, which changes how many bytes follow
                let field = pick(lengthFields(messages), &random)
                if field - 2 < bytes.count { bytes[field - 2] ^= 0x01 }
            }
        }
        return bytes
    }

    @Test("mutated and random request frames decode to what re-encodes to them, or are refused consistently")
    func requests() throws {
        var random = SeededRandom(seed: 0xF022)
        var decoded = 0
        var refused: [String: Int] = [:]
        for _ in 0..<Self.cases(normal: 30_000) {
            let bytes = try Self.mutatedFrame(&random)
            do {
                let messages = try I2CWire.decodeRequest(bytes)
                #expect((1...I2CWire.maxMessages).contains(messages.count))
                #expect(messages.allSatisfy { $0.length <= I2CWire.maxMessageLength })
                #expect(try I2CWire.encodeRequest(messages) == bytes, "decoded frame re-encodes to its bytes")
                decoded += 1
            } catch {
                switch error {
                case .truncated(let expected, let got):
                    #expect(expected > got, "a truncated frame needs more than it has: \(expected) vs \(got)")
                    #expect(got == bytes.count)
                case .trailingBytes(let count):
                    #expect((1..<bytes.count).contains(count))
                case .badMessageCount(let count):
                    #expect(!(1...I2CWire.maxMessages).contains(count))
                case .messageTooLong(_, let length):
                    #expect(length > I2CWire.maxMessageLength)
                default:
                    Issue.record("a request decoder raised a reply or encoder error: \(error)")
                }
                refused[String(describing: error).prefix(24).description, default: 0] += 1
            }
        }
        #expect(decoded > 0 && refused.values.reduce(0, +) > 0, "both outcomes exercised: \(decoded) decoded, \(refused)")
    }

    @Test("a stream of valid frames cut at random points parses back to the same frames, and a bad one stops it")
    func streams() throws {
        var random = SeededRandom(seed: 0x57E4)
        for _ in 0..<Self.cases(normal: 3_000) / 10 {
            let frames = (0..<random.nextInt(in: 1...6)).map { _ in Self.randomMessages(&random) }
            var stream = try frames.flatMap { try I2CWire.encodeRequest($0) }
            let corruptAt = random.chance(0.3) ? random.nextInt(in: 0...(stream.count - 1)) : nil
            if let corruptAt { stream[corruptAt] ^= UInt8(1) << UInt8(random.nextInt(in: 0...7)) }
            var buffer: [UInt8] = []
            var parsed: [[I2CWireMessage]] = []
            var offset = 0
            var failed = false
            feeding: while offset < stream.count {
                let chunk = random.nextInt(in: 1...max(1, min(64, stream.count - offset)))
                buffer += stream[offset..<(offset + chunk)]
                offset += chunk
                while true {
                    do {
                        guard case .complete(let messages, let consumed) = try I2CWire.parseRequest(buffer[...]) else { break }
                        #expect(consumed > 0 && consumed <= buffer.count)
                        parsed.append(messages)
                        buffer.removeFirst(consumed)
                    } catch {
                        failed = true
                        break feeding
                    }
                }
            }
            if corruptAt == nil {
                #expect(!failed)
                #expect(parsed == frames, "every frame, in order")
                #expect(buffer.isEmpty)
            } else {
                // A corrupted stream may parse differently, but never into more bytes than it has.
                #expect(parsed.count <= stream.count)
            }
        }
    }

    @Test("replies for any read lengths decode to what re-encodes to them, or are refused")
    func replies() throws {
        var random = SeededRandom(seed: 0x4E91)
        for _ in 0..<Self.cases(normal: 30_000) {
            var lengths = (0..<random.nextInt(in: 0...4)).map { _ in random.nextInt(in: 0...12) }
            if random.chance(0.05) { lengths.append(Self.pick([-1, Int.min, Int.max, I2CWire.maxMessageLength + I2CWire.blockLengthMax + 1], &random)) }
            var bytes: [UInt8]
            if random.chance(0.5) {
                let reads = lengths.map { (0..<max(0, min($0, 64))).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
                bytes = random.chance(0.3) ? I2CWire.encodeReply(.failure(errno: Int32(random.nextInt(in: 1...200))))
                                           : I2CWire.encodeReply(.success(reads: reads))
                if !bytes.isEmpty, random.chance(0.5) { bytes[random.nextInt(in: 0...(bytes.count - 1))] ^= UInt8(1) << UInt8(random.nextInt(in: 0...7)) }
                if random.chance(0.3) { bytes = Array(bytes.prefix(random.nextInt(in: 0...bytes.count))) }
            } else {
                bytes = (0..<random.nextInt(in: 0...40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            do {
                let reply = try I2CWire.decodeReply(bytes, readLengths: lengths)
                #expect(I2CWire.encodeReply(reply) == bytes, "decoded reply re-encodes to its bytes")
                if case .success(let reads) = reply { #expect(reads.map(\.count) == lengths) }
            } catch {
                switch error {
                case .truncated(let expected, let got): #expect(expected > got)
                case .trailingBytes, .badStatus, .messageTooLong: break
                default: Issue.record("a reply decoder raised a request error: \(error)")
                }
            }
        }
    }

    @Test("regression (found by the fuzzer): a short reply to a request with an impossible read length is refused, never summed into an overflow trap")
    func impossibleReadLengthInShortReply() {
        #expect(throws: I2CWireError.messageTooLong(index: 1, length: Int.max)) {
            try I2CWire.decodeReply([0, 0, 0, 0, 7], readLengths: [4, Int.max])
        }
        #expect(throws: I2CWireError.messageTooLong(index: 0, length: -1)) {
            try I2CWire.decodeReply([], readLengths: [-1])
        }
        #expect(throws: I2CWireError.truncated(expected: 8, got: 5)) {
            try I2CWire.decodeReply([0, 0, 0, 0, 7], readLengths: [4])
        }
    }

    @Test("the server survives every fuzz frame against the whole simulated Sense HAT and serves the next client")
    func server() throws {
        let directory = try makeScratchDirectory()
        defer { removeScratchDirectory(directory) }
        let clock = WallClock()
        var random = SeededRandom(seed: 0x5E7)
        let environment = FixedEnvironment(temperature: 21, humidity: 40, pressure: 1013)
        let bus = SimI2CBus(clock: clock, random: random.split("bus"))
        bus.attach(HTS221Model(calibration: .reference, source: environment, random: random.split("hts221")), at: 0x5F)
        bus.attach(LPS25HModel(source: environment, random: random.split("lps25h"), thermometerRandom: random.split("lps25h.thermometer")), at: 0x5C)
        bus.attach(LSM9DS1AccelGyroModel(source: environment, random: random.split("ag")), at: 0x6A)
        bus.attach(LSM9DS1MagnetometerModel(source: environment, random: random.split("m")), at: 0x1C)
        bus.attach(ATtiny88Model(history: nil), at: 0x46)
        // Aim the fuzz at the chips: most frames address one of them.
        let chips: [UInt16] = [0x5F, 0x5C, 0x6A, 0x1C, 0x46]
        let path = directory + "/i2c.sock"
        let server = I2CSocketServer(bus: bus, socketPath: path)
        try server.start()
        defer { server.stop() }
        // The server serves one client at a time, so each connection is closed before the next opens.
        var client: RawI2CClient? = try RawI2CClient(path: path)
        for _ in 0..<Self.cases(normal: 2_000) / 10 {
            var frame = try Self.mutatedFrame(&random)
            if frame.count >= 4, random.chance(0.7) { Self.putU16(&frame, at: 2, Self.pick(chips, &random)) }
            let expected = try? I2CWire.decodeRequest(frame)
            try client?.send(frame)
            if let expected {
                let readLengths = expected.filter(\.isRead).map(\.readLength)
                var buffer: [UInt8] = []
                var reply: I2CWireReply?
                while reply == nil {
                    let more: [UInt8]
                    do { more = try client?.receive(upTo: 65_536) ?? [] } catch {
                        throw TestFailure("no reply to the valid frame \(frame) (\(expected)): \(error)")
                    }
                    guard !more.isEmpty else { throw TestFailure("server hung up on a valid frame \(frame)") }
                    buffer += more
                    if case .complete(let decoded, _) = try I2CWire.parseReply(buffer[...], readLengths: readLengths) { reply = decoded }
                }
                if case .success(let reads)? = reply { #expect(reads.map(\.count) == readLengths) }
            } else {
                // Malformed or incomplete: start afresh on a new connection either way.
                client = nil
                client = try RawI2CClient(path: path)
            }
        }
        client = nil
        let probe = try RawI2CClient(path: path)
        #expect(try probe.call([.write(0x5F, [0x0F]), .read(0x5F, count: 1)]) == .success(reads: [[0xBC]]))
    }
}
