#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the files people hand the rig (scenarios, model manifests, golden vectors, ONNX
/// models) with errors that say what is wrong with the file, not just that it failed.
///
/// Foundation's readers answer a symlink loop with "no such file", `/dev/null` with
/// "permission" and a UTF-16 file with "the file isn't in the correct format". This one
/// opens and `fstat`s the file itself and words each failure from POSIX `errno`; text
/// files must be UTF-8, and a file that is not says where (byte offset, line, column) and,
/// for UTF-16, that it is UTF-16. Only regular files are read: a directory, FIFO, socket or
/// device is refused before a byte is read (a FIFO would otherwise block forever), and a
/// size limit keeps a huge file from taking the memory.
public enum FileContents {
    /// The default size limit: far above any scenario, manifest or model the rig reads.
    public static let defaultMaximumBytes = 64 * 1024 * 1024

    /// The bytes of the regular file at `path`, at most `maximumBytes` of them.
    public static func bytes(atPath path: String, maximumBytes: Int = defaultMaximumBytes) throws(FileReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadError(path: path, reason: .system(operation: "open", errno: errno)) }
        defer { _ = close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FileReadError(path: path, reason: .system(operation: "stat", errno: errno)) }
        let type = status.st_mode & S_IFMT
        guard type == S_IFREG else { throw FileReadError(path: path, reason: .notRegular(kind: kindName(type))) }
        let size = Int(status.st_size)
        guard size <= maximumBytes else { throw FileReadError(path: path, reason: .tooLarge(bytes: size, maximum: maximumBytes)) }
        var result = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = result.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + offset, size - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileReadError(path: path, reason: .system(operation: "read", errno: errno))
            }
            if count == 0 { break }  // The file shrank while we read it: keep what is there.
            offset += count
        }
        if offset < size { result.removeSubrange(offset...) }
        return result
    }

    /// The UTF-8 text of the regular file at `path` (a UTF-8 byte-order mark is dropped).
    public static func text(atPath path: String, maximumBytes: Int = defaultMaximumBytes) throws(FileReadError) -> String {
        String(decoding: try utf8(atPath: path, maximumBytes: maximumBytes), as: UTF8.self)
    }

    /// The bytes of the regular file at `path`, checked to be UTF-8 text without NUL bytes
    /// (a UTF-8 byte-order mark is dropped).
    public static func utf8(atPath path: String, maximumBytes: Int = defaultMaximumBytes) throws(FileReadError) -> [UInt8] {
        var bytes = try bytes(atPath: path, maximumBytes: maximumBytes)
        if let problem = TextEncodingProblem.find(in: bytes) { throw FileReadError(path: path, reason: .notText(problem)) }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return bytes
    }

    private static func kindName(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "not a file"
        }
    }
}

/// Why bytes are not UTF-8 text, and where.
public struct TextEncodingProblem: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Starts with a UTF-16 byte-order mark (`FF FE` little-endian, `FE FF` big-endian).
        case utf16ByteOrderMark(littleEndian: Bool)
        /// A NUL byte: binary data, or UTF-16 without a byte-order mark.
        case nulByte
        /// A byte that cannot start or continue a UTF-8 sequence here.
        case invalidUTF8(byte: UInt8)
    }

    public let kind: Kind
    /// Zero-based byte offset of the offending byte.
    public let offset: Int
    /// One-based line and column (in bytes) of the offending byte.
    public let line: Int
    public let column: Int

    public init(kind: Kind, offset: Int, line: Int, column: Int) {
        self.kind = kind
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String {
        switch kind {
        case .utf16ByteOrderMark(let little):
            "not UTF-8 text: looks like UTF-16 (\(little ? "little" : "big")-endian byte-order mark \(little ? "FF FE" : "FE FF")); save it as UTF-8"
        case .nulByte:
            "not UTF-8 text: NUL byte at offset \(offset) (line \(line), column \(column)); a binary file, or UTF-16 without a byte-order mark"
        case .invalidUTF8(let byte):
            "not UTF-8 text: invalid byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset) (line \(line), column \(column))"
        }
    }

    /// The first problem in `bytes`, or nil for valid UTF-8 without NUL bytes.
    public static func find(in bytes: [UInt8]) -> TextEncodingProblem? {
        if bytes.starts(with: [0xFF, 0xFE]) { return TextEncodingProblem(kind: .utf16ByteOrderMark(littleEndian: true), offset: 0, line: 1, column: 1) }
        if bytes.starts(with: [0xFE, 0xFF]) { return TextEncodingProblem(kind: .utf16ByteOrderMark(littleEndian: false), offset: 0, line: 1, column: 1) }
        var line = 1
        var lineStart = 0
        var index = 0
        func problem(_ kind: Kind, at offset: Int) -> TextEncodingProblem {
            TextEncodingProblem(kind: kind, offset: offset, line: line, column: offset - lineStart + 1)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte == 0 { return problem(.nulByte, at: index) }
                if byte == 0x0A { line += 1; lineStart = index + 1 }
                index += 1
                continue
            }
            // Sequence length and the allowed range of the second byte (RFC 3629: no
            // overlong forms, no surrogates, nothing above U+10FFFF).
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            default: return problem(.invalidUTF8(byte: byte), at: index)
            }
            for continuation in 1..<length {
                let position = index + continuation
                guard position < bytes.count else { return problem(.invalidUTF8(byte: byte), at: index) }
                let range = continuation == 1 ? secondRange : 0x80...0xBF
                guard range.contains(bytes[position]) else { return problem(.invalidUTF8(byte: bytes[position]), at: position) }
            }
            index += length
        }
        return nil
    }
}

/// A file that could not be read, naming the path and why in words a person can act on.
public struct FileReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// A system call failed; `errno` words it ("Too many levels of symbolic links").
        case system(operation: String, errno: Int32)
        /// A directory, device, FIFO or socket.
        case notRegular(kind: String)
        case tooLarge(bytes: Int, maximum: Int)
        case notText(TextEncodingProblem)
    }

    public let path: String
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// The line and column the problem is at, when it is inside the file.
    public var location: (line: Int, column: Int)? {
        if case .notText(let problem) = reason { return (problem.line, problem.column) }
        return nil
    }

    /// What is wrong, without the path.
    public var message: String {
        switch reason {
        case .system(let operation, let code):
            let text = String(cString: strerror(code))
            return operation == "open" ? "cannot open: \(text)" : "cannot \(operation): \(text)"
        case .notRegular(let kind): return "not a regular file (\(kind))"
        case .tooLarge(let bytes, let maximum): return "too large (\(bytes) bytes; at most \(maximum))"
        case .notText(let problem): return problem.description
        }
    }

    public var description: String { "\(path): \(message)" }
}
