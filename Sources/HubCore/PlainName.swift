/// Names that end up in file names, MQTT topics and host names: ASCII letters, digits and a
/// few stated punctuation characters, nothing a shell, a topic filter or a path reads
/// specially.
public enum PlainName {
    /// ASCII letters, digits and the `extra` characters only, 1...`maximum` of them.
    public static func isPlain(_ text: String, maximum: Int, extra: String) -> Bool {
        let allowed = Array(extra.utf8)
        return (1...max(1, maximum)).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || allowed.contains(byte)
        }
    }
}
