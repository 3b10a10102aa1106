import Foundation
import Glibc
import HubCore
import HubScenario
import Testing

/// Scenario files that cannot be read say why in words a person can act on: the encoding
/// and where it goes wrong, a symlink loop, not a regular file — not "the file isn't in the
/// correct format", "no such file" or "permission".
@Suite("Scenario files")
struct ScenarioFileTests {
    /// A fresh directory for one test's files.
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func loadError(_ path: String) -> ScenarioError? {
        do {
            _ = try ScenarioLoader.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    static let valid = "name: x\nseed: 1\nduration: 1h\nhub:\n  appliances: [{ id: hvac, kind: furnace, model: none }]\n"

    @Test("a UTF-16 file says it is UTF-16")
    func utf16() throws {
        let path = try Self.directory() + "/utf16.yaml"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in Self.valid.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(Self.loadError(path))
        #expect(error.file == path)
        #expect(error.message.contains("not UTF-8 text: looks like UTF-16 (little-endian byte-order mark FF FE)"), "\(error)")
    }

    @Test("a UTF-16 file without a byte-order mark is caught at its first NUL byte")
    func utf16WithoutMark() throws {
        let path = try Self.directory() + "/utf16be.yaml"
        var bytes: [UInt8] = []
        for unit in Self.valid.utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(Self.loadError(path))
        #expect(error.line == 1 && error.column == 1, "\(error)")
        #expect(error.message.contains("NUL byte at offset 0"), "\(error)")
    }

    @Test("invalid UTF-8 names the byte, its offset, line and column")
    func invalidByte() throws {
        let path = try Self.directory() + "/latin1.yaml"
        // "Jörg" in Latin-1 on line 2.
        let bytes = Array("name: x\nthing: J".utf8) + [0xF6] + Array("rg\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(Self.loadError(path))
        #expect(error.line == 2 && error.column == 9, "\(error)")
        #expect(error.message.contains("invalid byte 0xF6 at offset 16"), "\(error)")
        #expect(error.description.hasPrefix("\(path):2:9: not UTF-8 text"), "\(error)")
    }

    @Test("a binary file is refused as not text")
    func binary() throws {
        let path = try Self.directory() + "/binary.yaml"
        var random = SeededRandom(seed: 5)
        try Data((0..<512).map { _ in UInt8(truncatingIfNeeded: random.next()) }).write(to: URL(fileURLWithPath: path))
        let error = try #require(Self.loadError(path))
        #expect(error.message.hasPrefix("not UTF-8 text"), "\(error)")
    }

    @Test("a symlink loop is called one")
    func symlinkLoop() throws {
        let directory = try Self.directory()
        try FileManager.default.createSymbolicLink(atPath: directory + "/a.yaml", withDestinationPath: directory + "/b.yaml")
        try FileManager.default.createSymbolicLink(atPath: directory + "/b.yaml", withDestinationPath: directory + "/a.yaml")
        let error = try #require(Self.loadError(directory + "/a.yaml"))
        #expect(error.message == "cannot open: Too many levels of symbolic links", "\(error)")
    }

    @Test("a missing file is called missing")
    func missing() throws {
        let error = try #require(Self.loadError(try Self.directory() + "/nothing.yaml"))
        #expect(error.message == "cannot open: No such file or directory", "\(error)")
    }

    @Test("devices, directories and FIFOs are not regular files")
    func notRegular() throws {
        let directory = try Self.directory()
        #expect(Self.loadError("/dev/null")?.message == "not a regular file (a character device)")
        #expect(Self.loadError(directory)?.message == "not a regular file (a directory)")
        let fifo = directory + "/fifo.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO without a writer would block forever; it is refused instead.
        #expect(Self.loadError(fifo)?.message == "not a regular file (a FIFO)")
    }

    @Test("an empty file and an oversized file are refused")
    func emptyAndHuge() throws {
        let directory = try Self.directory()
        _ = FileManager.default.createFile(atPath: directory + "/empty.yaml", contents: Data())
        #expect(Self.loadError(directory + "/empty.yaml")?.message == "empty scenario file")
        let huge = directory + "/huge.yaml"
        _ = FileManager.default.createFile(atPath: huge, contents: Data(repeating: 0x23, count: ScenarioLoader.maximumFileBytes + 1))
        #expect(Self.loadError(huge)?.message.hasPrefix("too large (1048577 bytes; at most 1048576)") == true)
    }

    @Test("an unreadable file says permission denied", .enabled(if: getuid() != 0, "root reads any file"))
    func unreadable() throws {
        let path = try Self.directory() + "/secret.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(Self.valid.utf8), attributes: [.posixPermissions: 0o000])
        #expect(Self.loadError(path)?.message == "cannot open: Permission denied")
    }

    @Test("a UTF-8 byte-order mark is allowed")
    func utf8Mark() throws {
        let path = try Self.directory() + "/bom.yaml"
        try Data([0xEF, 0xBB, 0xBF] + Array(Self.valid.utf8)).write(to: URL(fileURLWithPath: path))
        #expect(try ScenarioLoader.load(path: path).name == "x")
    }
}
