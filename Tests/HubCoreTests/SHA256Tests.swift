import Foundation
import HubCore
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    @Test("matches the FIPS 180-4 example digests", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(input: String, digest: String) {
        #expect(SHA256.hex(Array(input.utf8)) == digest)
    }

    @Test("a million 'a's, and every length around a block boundary, as sha256sum computes them")
    func agreesWithCoreutils() throws {
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha256-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SeededRandom(seed: 256)
        var paths: [String] = []
        var expected: [String] = []
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1_000, 4_097] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let path = directory.appendingPathComponent("\(length).bin").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
            expected.append(SHA256.hex(bytes))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let digests = output.split(separator: "\n").map { String($0.prefix(64)) }
        #expect(digests == expected)
    }

    @Test("only 64 lowercase hex digits are a digest")
    func digestShape() {
        #expect(SHA256.isHexDigest(String(repeating: "a", count: 64)))
        #expect(!SHA256.isHexDigest(String(repeating: "A", count: 64)))
        #expect(!SHA256.isHexDigest(String(repeating: "a", count: 63)))
        #expect(!SHA256.isHexDigest(String(repeating: "g", count: 64)))
    }
}
