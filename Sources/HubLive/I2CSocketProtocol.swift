// The wire protocol between the LD_PRELOAD stand-in for /dev/i2c-N (Sources/I2CShim) and
// `I2CSocketServer`. One request carries the message list of one I2C_RDWR ioctl; one reply
// carries its outcome. Everything is little-endian; there is no frame-length prefix,
// because the message headers already say how many bytes follow.
//
// Request:
//
//     u16 count                       1...42 (I2C_RDWR_IOCTL_MAX_MSGS)
//     count times:
//         u16 addr                    as in struct i2c_msg
//         u16 flags                   I2C_M_RD (0x0001) marks a read
//         u16 len                     0...8192
//         len bytes                   only for writes (no I2C_M_RD)
//
// Reply:
//
//     i32 status                      0, or a positive errno (EREMOTEIO, ETIMEDOUT, ...)
//     if status == 0, for each read message of the request in order:
//         len bytes, or len + 32 bytes for an I2C_M_RECV_LEN read (0x0400): the device's
//         block length byte, the block, then the len - 1 bytes after it (an SMBus PEC),
//         zero-padded to the longest block (32 bytes), so the reply's size is known from
//         the request alone
//
// A frame that breaks these rules cannot be resynchronised on a stream, so the server
// closes the connection; the shim then fails the ioctl with EIO.

/// One segment of an I2C_RDWR transfer as it travels on the wire (`struct i2c_msg`).
///
/// A write carries its bytes; a read carries only how many bytes it wants. Flags travel
/// unchanged, so the server can refuse those it cannot honour (10-bit addresses, NOSTART)
/// with the errno the kernel would give, rather than silently doing something else.
public struct I2CWireMessage: Equatable, Sendable {
    public var address: UInt16
    public var flags: UInt16
    /// The write payload; empty for reads.
    public var bytes: [UInt8]
    /// How many bytes a read asks for; 0 for writes.
    public var readLength: Int

    public init(address: UInt16, flags: UInt16, bytes: [UInt8], readLength: Int) {
        self.address = address
        self.flags = flags
        self.bytes = bytes
        self.readLength = readLength
    }

    /// A write of `bytes` to a 7-bit address.
    public static func write(_ address: UInt8, _ bytes: [UInt8]) -> I2CWireMessage {
        I2CWireMessage(address: UInt16(address), flags: 0, bytes: bytes, readLength: 0)
    }

    /// A read of `count` bytes from a 7-bit address.
    public static func read(_ address: UInt8, count: Int) -> I2CWireMessage {
        I2CWireMessage(address: UInt16(address), flags: I2CWire.readFlag, bytes: [], readLength: count)
    }

    public var isRead: Bool { flags & I2CWire.readFlag != 0 }

    /// The I2C_RDWR messages of one `I2CBus.transfer`, as `LinuxI2CBus` sends them: the
    /// write part (alone also when nothing is read: a quick write), then the read part.
    public static func transfer(_ address: UInt8, write: [UInt8], readCount: Int) -> [I2CWireMessage] {
        var messages = [I2CWireMessage]()
        if !write.isEmpty || readCount == 0 { messages.append(.write(address, write)) }
        if readCount > 0 { messages.append(.read(address, count: readCount)) }
        return messages
    }

    /// An SMBus block read: the device's first byte says how many follow (I2C_M_RECV_LEN).
    public var isReceiveLength: Bool { isRead && flags & I2CWire.receiveLengthFlag != 0 }

    /// How many bytes the reply carries for this message (0 for writes).
    public var replyLength: Int {
        guard isRead else { return 0 }
        return readLength + (isReceiveLength ? I2CWire.blockLengthMax : 0)
    }

    /// The `len` field: bytes to read for a read, bytes carried for a write.
    public var length: Int { isRead ? readLength : bytes.count }
}

/// The outcome of one I2C_RDWR request.
public enum I2CWireReply: Equatable, Sendable {
    /// Every message went through; one byte array per read message, in request order.
    case success(reads: [[UInt8]])
    /// The transfer failed with this errno (positive), as the kernel would report it.
    case failure(errno: Int32)
}

/// Why bytes are not a valid request or reply frame (or a value cannot be encoded).
///
/// The server drops a client that sends one of these; tests and the fuzz check rely on
/// every malformed input landing here instead of trapping.
public enum I2CWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ends after `got` bytes, but its headers promise at least `expected`.
    case truncated(expected: Int, got: Int)
    /// Bytes follow a complete frame where none should.
    case trailingBytes(count: Int)
    /// The message count is 0 or above the kernel's limit of 42.
    case badMessageCount(Int)
    /// A message is longer than the kernel's 8192-byte limit.
    case messageTooLong(index: Int, length: Int)
    /// A message to encode contradicts itself (a read carrying bytes, a negative length).
    case inconsistentMessage(index: Int, detail: String)
    /// A reply's status is negative (statuses are 0 or a positive errno).
    case badStatus(Int32)
    /// The reply's read payloads do not match the request's read messages.
    case readsMismatch(expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case .truncated(let expected, let got):
            "I²C wire frame truncated: need at least \(expected) bytes, got \(got)"
        case .trailingBytes(let count):
            "I²C wire frame followed by \(count) unexpected bytes"
        case .badMessageCount(let count):
            "I²C wire frame with \(count) messages (allowed 1...\(I2CWire.maxMessages))"
        case .messageTooLong(let index, let length):
            "I²C wire message \(index) is \(length) bytes (limit \(I2CWire.maxMessageLength))"
        case .inconsistentMessage(let index, let detail):
            "I²C wire message \(index) is inconsistent: \(detail)"
        case .badStatus(let status):
            "I²C wire reply with negative status \(status)"
        case .readsMismatch(let expected, let got):
            "I²C wire reply read lengths \(got) do not match the request's \(expected)"
        }
    }
}

/// Encoding and decoding of the I²C socket protocol, as pure functions over bytes.
///
/// Kept free of sockets so the framing can be tested exhaustively (round trips, every
/// truncation, random bytes) without a server; the server and the C shim share the
/// layout documented at the top of this file.
public enum I2CWire {
    /// The kernel's I2C_RDWR_IOCTL_MAX_MSGS.
    public static let maxMessages = 42
    /// The kernel's per-message limit for I2C_RDWR (8192 bytes).
    public static let maxMessageLength = 8192
    /// I2C_M_RD.
    public static let readFlag: UInt16 = 0x0001
    /// I2C_M_RECV_LEN: the message's length grows by the first byte read.
    public static let receiveLengthFlag: UInt16 = 0x0400
    /// I2C_SMBUS_BLOCK_MAX: the longest SMBus block.
    public static let blockLengthMax = 32

    /// The result of parsing the front of a stream buffer.
    ///
    /// Frames arrive on a stream in arbitrary pieces, so "not yet" must be told apart
    /// from "never": the first is `.incomplete`, the second a thrown `I2CWireError`.
    public enum Parsed<Value: Sendable>: Sendable {
        /// More bytes are needed before anything can be said.
        case incomplete
        /// One whole frame, which used the first `consumed` bytes.
        case complete(Value, consumed: Int)
    }

    // MARK: Requests

    public static func encodeRequest(_ messages: [I2CWireMessage]) throws(I2CWireError) -> [UInt8] {
        guard (1...maxMessages).contains(messages.count) else { throw .badMessageCount(messages.count) }
        var out = [UInt8]()
        out.reserveCapacity(2 + messages.reduce(0) { $0 + 6 + $1.bytes.count })
        appendU16(&out, UInt16(messages.count))
        for (index, message) in messages.enumerated() {
            if message.isRead {
                guard message.bytes.isEmpty else {
                    throw .inconsistentMessage(index: index, detail: "a read carries \(message.bytes.count) bytes")
                }
                guard message.readLength >= 0 else {
                    throw .inconsistentMessage(index: index, detail: "negative read length \(message.readLength)")
                }
            } else if message.readLength != 0 {
                throw .inconsistentMessage(index: index, detail: "a write asks to read \(message.readLength) bytes")
            }
            guard message.length <= maxMessageLength else {
                throw .messageTooLong(index: index, length: message.length)
            }
            appendU16(&out, message.address)
            appendU16(&out, message.flags)
            appendU16(&out, UInt16(message.length))
            if !message.isRead { out.append(contentsOf: message.bytes) }
        }
        return out
    }

    /// Parses one request from the front of `buffer`, which may hold a partial frame.
    public static func parseRequest(_ buffer: ArraySlice<UInt8>) throws(I2CWireError) -> Parsed<[I2CWireMessage]> {
        var reader = Reader(buffer)
        guard let count = reader.u16() else { return .incomplete }
        guard (1...maxMessages).contains(Int(count)) else { throw .badMessageCount(Int(count)) }
        var messages = [I2CWireMessage]()
        messages.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let address = reader.u16(), let flags = reader.u16(), let length = reader.u16() else {
                return .incomplete
            }
            guard Int(length) <= maxMessageLength else { throw .messageTooLong(index: index, length: Int(length)) }
            if flags & readFlag != 0 {
                messages.append(I2CWireMessage(address: address, flags: flags, bytes: [], readLength: Int(length)))
            } else {
                guard let bytes = reader.bytes(Int(length)) else { return .incomplete }
                messages.append(I2CWireMessage(address: address, flags: flags, bytes: bytes, readLength: 0))
            }
        }
        return .complete(messages, consumed: reader.offset)
    }

    /// Decodes exactly one request frame: a short frame or extra bytes are errors.
    public static func decodeRequest(_ frame: [UInt8]) throws(I2CWireError) -> [I2CWireMessage] {
        switch try parseRequest(frame[...]) {
        case .incomplete:
            throw .truncated(expected: requestBytesNeeded(frame), got: frame.count)
        case .complete(let messages, let consumed):
            guard consumed == frame.count else { throw .trailingBytes(count: frame.count - consumed) }
            return messages
        }
    }

    /// How long an incomplete request frame must at least be (for error messages):
    /// the length of its headers and write data as far as they can be read.
    static func requestBytesNeeded(_ frame: [UInt8]) -> Int {
        var reader = Reader(frame[...])
        guard let count = reader.u16() else { return 2 }
        var needed = 2
        for _ in 0..<Int(count) {
            needed += 6
            guard reader.u16() != nil, let flags = reader.u16(), let length = reader.u16() else { return needed }
            if flags & readFlag == 0 {
                needed += Int(length)
                guard reader.bytes(Int(length)) != nil else { return needed }
            }
        }
        return needed
    }

    // MARK: Replies

    public static func encodeReply(_ reply: I2CWireReply) -> [UInt8] {
        var out = [UInt8]()
        switch reply {
        case .failure(let errno):
            precondition(errno > 0, "a failure reply carries a positive errno")
            appendI32(&out, errno)
        case .success(let reads):
            out.reserveCapacity(4 + reads.reduce(0) { $0 + $1.count })
            appendI32(&out, 0)
            for bytes in reads { out.append(contentsOf: bytes) }
        }
        return out
    }

    /// Parses one reply from the front of `buffer`; `readLengths` are the `replyLength`s of
    /// the request's read messages, which say how many bytes follow a success.
    public static func parseReply(_ buffer: ArraySlice<UInt8>, readLengths: [Int]) throws(I2CWireError) -> Parsed<I2CWireReply> {
        // Lengths are checked before any byte is looked at, so a frame is never "incomplete"
        // for a request it can never answer (and no caller sums an impossible length).
        for (index, length) in readLengths.enumerated() where !(0...maxMessageLength + blockLengthMax).contains(length) {
            throw .messageTooLong(index: index, length: length)
        }
        var reader = Reader(buffer)
        guard let status = reader.i32() else { return .incomplete }
        guard status >= 0 else { throw .badStatus(status) }
        if status > 0 { return .complete(.failure(errno: status), consumed: reader.offset) }
        var reads = [[UInt8]]()
        reads.reserveCapacity(readLengths.count)
        for length in readLengths {
            guard let bytes = reader.bytes(length) else { return .incomplete }
            reads.append(bytes)
        }
        return .complete(.success(reads: reads), consumed: reader.offset)
    }

    /// Decodes exactly one reply frame for a request with these read lengths.
    public static func decodeReply(_ frame: [UInt8], readLengths: [Int]) throws(I2CWireError) -> I2CWireReply {
        switch try parseReply(frame[...], readLengths: readLengths) {
        case .incomplete:
            // parseReply refused any length outside 0...8224, so this sum cannot overflow.
            throw .truncated(expected: 4 + readLengths.reduce(0, +), got: frame.count)
        case .complete(let reply, let consumed):
            guard consumed == frame.count else { throw .trailingBytes(count: frame.count - consumed) }
            return reply
        }
    }

    /// Checks that a success reply answers a request: one payload per read message, each
    /// of the length that message asked for. The server calls it before sending.
    public static func validate(_ reply: I2CWireReply, for request: [I2CWireMessage]) throws(I2CWireError) {
        guard case .success(let reads) = reply else { return }
        let expected = request.filter(\.isRead).map(\.replyLength)
        let got = reads.map(\.count)
        guard expected == got else { throw .readsMismatch(expected: expected, got: got) }
    }

    // MARK: Little-endian helpers

    private static func appendU16(_ out: inout [UInt8], _ value: UInt16) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    private static func appendI32(_ out: inout [UInt8], _ value: Int32) {
        let bits = UInt32(bitPattern: value)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }

    /// A bounds-checked cursor: every read returns nil instead of running off the end.
    private struct Reader {
        let buffer: ArraySlice<UInt8>
        var offset = 0

        init(_ buffer: ArraySlice<UInt8>) { self.buffer = buffer }

        var remaining: Int { buffer.count - offset }

        mutating func u16() -> UInt16? {
            guard remaining >= 2 else { return nil }
            let base = buffer.startIndex + offset
            offset += 2
            return UInt16(buffer[base]) | UInt16(buffer[base + 1]) << 8
        }

        mutating func i32() -> Int32? {
            guard remaining >= 4 else { return nil }
            let base = buffer.startIndex + offset
            offset += 4
            var bits: UInt32 = 0
            for index in 0..<4 { bits |= UInt32(buffer[base + index]) << UInt32(8 * index) }
            return Int32(bitPattern: bits)
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, remaining >= count else { return nil }
            let base = buffer.startIndex + offset
            offset += count
            return Array(buffer[base..<base + count])
        }
    }
}
