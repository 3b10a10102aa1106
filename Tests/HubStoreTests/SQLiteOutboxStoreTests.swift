import Foundation
import HubCore
import HubStore
import Testing

@Suite("SQLite outbox")
struct SQLiteOutboxStoreTests {
    /// A fresh directory for one test's files, removed by the caller.
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func message(_ sequence: Int64, _ priority: OutboxMessage.Priority = .telemetry, topic: String = "hbs/hub-1/telemetry") -> OutboxMessage {
        OutboxMessage(sequence: sequence, messageID: "hub-1-\(sequence)", topic: topic, priority: priority,
                      payload: Array("{\"n\":\(sequence)}".utf8) + [0, 255])
    }

    @Test("outbox keeps order, ids and counters across restarts")
    func keepsOrderAcrossRestarts() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        let written = (1...50).map { Self.message(Int64($0), $0 % 10 == 0 ? .kept : .telemetry) }
        do {
            let store = try SQLiteOutboxStore(path: path)
            #expect(try store.append(Array(written[..<20])) == [])
            #expect(try store.append(Array(written[20...])) == [])
            try store.remove(sequences: [3, 10, 999])
        }
        let reopened = try SQLiteOutboxStore(path: path)
        let expected = written.filter { ![3, 10].contains($0.sequence) }
        #expect(try reopened.messages(after: 0, limit: 1000) == expected)
        #expect(try reopened.messages(after: 25, limit: 3).map(\.sequence) == [26, 27, 28])
        #expect(reopened.counters == OutboxCounters(depthTelemetry: 44, depthKept: 4, lastSequence: 50))
    }

    @Test("an emptied outbox still knows its last sequence after a restart, so no id is handed out twice")
    func sequenceSurvivesEmptying() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        do {
            let store = try SQLiteOutboxStore(path: path)
            _ = try store.append((1...5).map { Self.message(Int64($0)) })
            try store.remove(sequences: [5, 4, 3, 2, 1])
        }
        do {
            let store = try SQLiteOutboxStore(path: path, limits: OutboxLimits(countMax: 1, hardCountMax: 1))
            #expect(store.counters == OutboxCounters(lastSequence: 5))
            #expect(try store.append([Self.message(6), Self.message(7)]) == ["hub-1-6"], "evicted, and the floor rises with it")
            try store.remove(sequences: [7])
        }
        #expect(try SQLiteOutboxStore(path: path).counters == OutboxCounters(evictedTelemetry: 1, lastSequence: 7))
    }

    @Test("a full outbox evicts the oldest telemetry first, keeps alerts and health up to the hard cap, and counts every eviction")
    func evictionPolicy() throws {
        let store = try SQLiteOutboxStore(path: nil, limits: OutboxLimits(countMax: 5, hardCountMax: 7))
        #expect(try store.append([Self.message(1), Self.message(2, .kept), Self.message(3), Self.message(4)]) == [])
        #expect(try store.append([Self.message(5), Self.message(6), Self.message(7, .kept)]) == ["hub-1-1", "hub-1-3"])
        #expect(try store.messages(after: 0, limit: 10).map(\.sequence) == [2, 4, 5, 6, 7])
        // Only alerts and health from here: telemetry goes until none is left, then the cap holds.
        #expect(try store.append((8...10).map { Self.message(Int64($0), .kept) }) == ["hub-1-4", "hub-1-5", "hub-1-6"])
        #expect(try store.append((11...14).map { Self.message(Int64($0), .kept) }) == ["hub-1-2", "hub-1-7"])
        #expect(try store.messages(after: 0, limit: 10).map(\.sequence) == [8, 9, 10, 11, 12, 13, 14])
        #expect(store.counters == OutboxCounters(depthTelemetry: 0, depthKept: 7, evictedTelemetry: 5, evictedKept: 2, lastSequence: 14))
    }

    @Test("the outbox file and its WAL companions are owner-only, also when the file existed with a looser mode")
    func ownerOnly() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        try #require(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
        let store = try SQLiteOutboxStore(path: path)
        _ = try store.append([Self.message(1)])
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(file): \(String(mode, radix: 8))")
        }
    }

    static let foreignFiles: [(String, [UInt8])] = {
        let text: [UInt8] = Array("this is not a database, just text\n".utf8)
        let noise: [UInt8] = (0..<4000).map { UInt8($0 % 251) }
        let header: [UInt8] = Array("SQLite format 3\u{0}".utf8)
        return [("garbage", text + noise), ("truncated", header + [UInt8](repeating: 0, count: 40))]
    }()

    @Test("a file that is not an outbox is refused with its path and reason, and left as it was", arguments: foreignFiles)
    func refusesForeignFiles(name: String, bytes: [UInt8]) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/\(name).sqlite"
        try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect {
            _ = try SQLiteOutboxStore(path: path)
        } throws: { error in
            guard case .unusable(let detail) = error as? OutboxError else { return false }
            return detail.hasPrefix(path + ": ")
        }
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
    }

    @Test("another program's SQLite database, or an outbox of a newer schema, is refused by name")
    func refusesOtherSchemas() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let other = directory + "/other.sqlite"
        let sqlite = "/usr/bin/sqlite3"
        try #require(FileManager.default.isExecutableFile(atPath: sqlite), "Debian's sqlite3 makes the foreign database")
        try run(sqlite, [other, "CREATE TABLE notes (x); INSERT INTO notes VALUES (1);"])
        #expect(throws: OutboxError.unusable("\(other): a database of something else (no outbox meta table)")) {
            _ = try SQLiteOutboxStore(path: other)
        }
        let newer = directory + "/newer.sqlite"
        _ = try SQLiteOutboxStore(path: newer)
        try run(sqlite, [newer, "UPDATE meta SET schema_version = 9;"])
        #expect(throws: OutboxError.unusable("\(newer): schema version 9, this hub reads 1")) {
            _ = try SQLiteOutboxStore(path: newer)
        }
    }

    @Test("a missing directory is a clear error naming the path")
    func missingDirectory() {
        #expect(throws: OutboxError.unusable("/nonexistent/dir/outbox.sqlite: No such file or directory")) {
            _ = try SQLiteOutboxStore(path: "/nonexistent/dir/outbox.sqlite")
        }
    }

    @Test("random appends, removals and reopenings agree with a plain model of the outbox (fixed seed)")
    func agreesWithModel() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        let limits = OutboxLimits(countMax: 40, hardCountMax: 60)
        var store = try SQLiteOutboxStore(path: path, limits: limits)
        var random = SeededRandom(seed: 77)
        var model: [OutboxMessage] = []
        var evictedTelemetry: Int64 = 0, evictedKept: Int64 = 0
        var sequence: Int64 = 0
        for _ in 0..<300 {
            switch random.nextInt(in: 0...9) {
            case 0...5:
                let batch = (0..<random.nextInt(in: 1...8)).map { _ -> OutboxMessage in
                    sequence += 1
                    return Self.message(sequence, random.nextInt(in: 0...3) == 0 ? .kept : .telemetry)
                }
                var expected: [String] = []
                model += batch
                while model.count > limits.countMax, let i = model.firstIndex(where: { $0.priority == .telemetry }) {
                    expected.append(model.remove(at: i).messageID)
                    evictedTelemetry += 1
                }
                while model.count > limits.hardCountMax {
                    expected.append(model.removeFirst().messageID)
                    evictedKept += 1
                }
                #expect(try store.append(batch) == expected)
            case 6...8 where !model.isEmpty:
                let picked = (0..<random.nextInt(in: 1...5)).map { _ in model[random.nextInt(in: 0...(model.count - 1))].sequence }
                model.removeAll { picked.contains($0.sequence) }
                try store.remove(sequences: picked)
            default:
                store = try SQLiteOutboxStore(path: path, limits: limits)
            }
            #expect(store.counters.depth == model.count)
        }
        #expect(try store.messages(after: 0, limit: 1000) == model)
        #expect(store.counters.evictedTelemetry == evictedTelemetry && store.counters.evictedKept == evictedKept)
        #expect(store.counters.lastSequence == sequence)
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(executable) \(arguments)")
    }
}
