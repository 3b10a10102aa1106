import CZlib

/// Why a zlib stream could not be inflated.
public enum ZlibError: Error, Equatable, CustomStringConvertible {
    /// Not a zlib stream, or a damaged one (zlib's own message).
    case corrupt(String)
    /// The stream ends before its end marker.
    case truncated
    /// It inflates to more than the caller allows (a decompression bomb, or just too big).
    case tooLarge(bytesMax: Int)
    /// Bytes follow the stream's end.
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .corrupt(let reason): "not a valid zlib stream: \(reason)"
        case .truncated: "the zlib stream is truncated"
        case .tooLarge(let bytesMax): "inflates to more than \(bytesMax) bytes"
        case .trailingBytes(let count): "\(count) bytes after the end of the zlib stream"
        }
    }
}

/// zlib streams (RFC 1950: deflate with a header and an Adler-32 check) through the
/// system's libz, the format every cloud runtime can inflate.
///
/// Why bounded inflation: a batch comes from the network on the cloud side (and in the
/// sink), and a few kilobytes of deflate can claim gigabytes; the caller says how much
/// it is prepared to hold.
public enum Zlib {
    /// `bytes` deflated at `level` (0 none, 1 fastest … 9 smallest).
    public static func compress(_ bytes: [UInt8], level: Int32) -> [UInt8] {
        precondition((0...9).contains(level), "zlib levels are 0…9")
        var size = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(size))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &size, input.baseAddress, uLong(input.count), level)
            }
        }
        // compressBound is an upper bound and the input is in memory: nothing can fail.
        precondition(status == Z_OK, "compress2 failed with \(status)")
        output.removeSubrange(Int(size)...)
        return output
    }

    /// Inflates one whole zlib stream of at most `bytesMax` bytes of output.
    public static func decompress(_ bytes: [UInt8], bytesMax: Int) throws(ZlibError) -> [UInt8] {
        precondition(bytesMax >= 0)
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        // Uninitialised: inflate writes before anything is read, and zeroing 64 KiB for
        // every batch the simulated cloud receives cost more than inflating it.
        var chunk = [UInt8](unsafeUninitializedCapacity: 64 * 1024) { _, count in count = 64 * 1024 }
        var status: Int32 = Z_OK
        var consumed = 0
        try bytes.withUnsafeBufferPointer { (input) throws(ZlibError) in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { out -> Int in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                switch status {
                case Z_OK, Z_STREAM_END: break
                case Z_BUF_ERROR: throw .truncated  // no progress possible: the input ran out
                default:
                    throw .corrupt(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
                }
                if output.count + produced > bytesMax { throw .tooLarge(bytesMax: bytesMax) }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_OK, stream.avail_in == 0, produced == 0 { throw .truncated }
            } while status != Z_STREAM_END
            consumed = input.count - Int(stream.avail_in)
        }
        if consumed < bytes.count { throw .trailingBytes(bytes.count - consumed) }
        return output
    }
}
