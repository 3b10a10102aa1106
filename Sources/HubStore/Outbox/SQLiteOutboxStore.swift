import Foundation
import GRDB
import GRDBSQLite
import HubCore

/// The outbox on SQLite through GRDB: a file in WAL mode for a live hub, or an in-memory
/// database for the simulator — the same SQL, eviction and counters either way.
///
/// Durability: every `append` is one transaction, committed (`synchronous = FULL`, so also
/// across a power cut, which a hub on a wall socket sees) before it returns; a SIGKILL at
/// any instant leaves either the whole append or none of it. The file and its `-wal` and
/// `-shm` companions are owner-only (0600). Counters and the last sequence live in the same
/// transactions as the rows they count, so they are exact across crashes.
///
/// The table has no index beyond its sequence key: rows are deleted by sequence, and each
/// index would cost every reading's insert another B-tree write (eviction scans from the
/// oldest row, where telemetry is).
///
/// Eviction (`OutboxLimits`): after an append leaves more than `countMax` messages, the
/// oldest telemetry is deleted until the count is back at `countMax` or no telemetry is
/// left; beyond `hardCountMax` the oldest messages of any kind go. Every eviction is
/// counted by priority and returned to the caller by message id.
public final class SQLiteOutboxStore: OutboxStore {
    public let limits: OutboxLimits
    /// The file, or nil for an in-memory store.
    public let path: String?
    public private(set) var counters: OutboxCounters
    private let database: DatabaseQueue

    static let schemaVersion = 1

    /// An in-memory store without a size cap (the simulator's) keeps one transaction open for
    /// its whole life: committing a memory database makes nothing more durable, and SQLite's
    /// commit of a one-row transaction cost 15,000 instructions a reading. Appends stay
    /// atomic (one INSERT statement, or a savepoint). With a cap, SQLITE_FULL may roll back a
    /// whole transaction, so capped and file stores commit every append.
    private var holdsTransaction: Bool { path == nil && limits.fileBytesMax == nil }

    /// Opens (creating if needed) the outbox at `path` (owner-only), or an in-memory one for nil.
    public init(path: String?, limits: OutboxLimits = OutboxLimits()) throws(OutboxError) {
        self.limits = limits
        self.path = path
        let place = path ?? "in-memory outbox"
        do {
            var configuration = Configuration()
            configuration.label = "outbox"
            // See `holdsTransaction`.
            configuration.allowsUnsafeTransactions = path == nil && limits.fileBytesMax == nil
            let pagesMax = limits.fileBytesMax.map { $0 / 4096 }
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                if let pagesMax { try db.execute(sql: "PRAGMA page_size = 4096; PRAGMA max_page_count = \(pagesMax)") }
            }
            if let path {
                configuration.journalMode = .wal
                if let problem = OwnerOnlyDatabase.create(path) { throw OutboxError.unusable(problem) }
                database = try DatabaseQueue(path: path, configuration: configuration)
            } else {
                database = try DatabaseQueue(configuration: configuration)
            }
            counters = try database.write { db in try Self.migrate(db, place: place) }
            if holdsTransaction { try database.writeWithoutTransaction { db in try db.execute(sql: "BEGIN") } }
            if let path, let problem = OwnerOnlyDatabase.restrictCompanions(of: path) { throw OutboxError.unusable(problem) }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw .unusable("\(place): \(Self.describe(error))")
        }
    }

    public func append(_ messages: [OutboxMessage]) throws(OutboxError) -> [String] {
        guard !messages.isEmpty else { return [] }
        var last = counters.lastSequence
        for message in messages {
            precondition(message.sequence > last, "outbox sequences increase: \(message.sequence) after \(last)")
            last = message.sequence
        }
        let limits = limits
        var next = counters
        for message in messages {
            switch message.priority {
            case .telemetry: next.depthTelemetry += 1
            case .kept: next.depthKept += 1
            }
        }
        next.lastSequence = last
        let evicting = next.depth > limits.countMax
        do {
            let evicted = try database.writeWithoutTransaction { db -> [String] in
                // One message and nothing to evict: a single INSERT is its own transaction
                // (SQLite's autocommit), which spares the simulator a BEGIN and COMMIT per reading.
                guard messages.count > 1 || evicting else {
                    try Self.insert(messages[0], db)
                    return []
                }
                var evicted: [String] = []
                try db.inSavepoint {
                    for message in messages { try Self.insert(message, db) }
                    if next.depth > limits.countMax, next.depthTelemetry > 0 {
                        let count = min(next.depth - limits.countMax, next.depthTelemetry)
                        evicted += try Self.evictOldest(db, count: count, priority: .telemetry)
                        next.depthTelemetry -= count
                        next.evictedTelemetry += Int64(count)
                    }
                    if next.depth > limits.hardCountMax {
                        let count = next.depth - limits.hardCountMax
                        evicted += try Self.evictOldest(db, count: count, priority: .kept)
                        next.depthKept -= count
                        next.evictedKept += Int64(count)
                    }
                    if !evicted.isEmpty {
                        try db.execute(sql: "UPDATE meta SET evicted_telemetry = ?, evicted_kept = ?",
                                       arguments: [next.evictedTelemetry, next.evictedKept])
                        try Self.raiseFloor(to: next.lastSequence, db)
                    }
                    return .commit
                }
                return evicted
            }
            counters = next
            return evicted
        } catch {
            throw Self.classify(error, place: path ?? "in-memory outbox")
        }
    }

    /// The hot statements bound and stepped through SQLite's C API on GRDB's connection:
    /// GRDB's generic argument binding cost 5 µs a message, three times the insert itself,
    /// and the simulator commits every reading. GRDB still opens, configures, migrates,
    /// serialises access and runs everything else.
    ///
    /// The texts and the payload are bound without a copy (`SQLITE_STATIC`) for the one step
    /// that stores them, inside the closures that keep their bytes alive, and unbound after.
    private static func insert(_ message: OutboxMessage, _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO outbox (sequence, message_id, topic, priority, payload) VALUES (?, ?, ?, ?, ?)").sqliteStatement
        sqlite3_reset(statement)
        sqlite3_bind_int64(statement, 1, message.sequence)
        sqlite3_bind_int(statement, 4, Int32(message.priority.rawValue))
        var messageID = message.messageID
        var topic = message.topic
        let code = messageID.withUTF8 { id in
            topic.withUTF8 { topic in
                message.payload.withUnsafeBytes { payload in
                    bindText(statement, 2, id)
                    bindText(statement, 3, topic)
                    _ = sqlite3_bind_blob(statement, 5, payload.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(payload.count), nil)
                    let code = sqlite3_step(statement)
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                    return code
                }
            }
        }
        guard code == SQLITE_DONE else { throw failure(code, db) }
    }

    /// Binds `utf8` without a copy: the caller keeps it alive until the statement is reset.
    private static func bindText(_ statement: OpaquePointer, _ index: Int32, _ utf8: UnsafeBufferPointer<UInt8>) {
        _ = utf8.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text(statement, index, $0.baseAddress ?? UnsafePointer(bitPattern: 1), Int32($0.count), nil)
        }
    }

    public func remove(sequences: [Int64]) throws(OutboxError) {
        guard !sequences.isEmpty else { return }
        var next = counters
        var highest: Int64 = 0
        do {
            try database.writeWithoutTransaction { db in try db.inSavepoint {
                // Acknowledgements come mostly in order: one count and one delete per run of
                // consecutive sequences (RETURNING would stage every deleted row in a temporary table).
                // One aggregate row, telemetry counted apart: GROUP BY sorted every row first.
                let tally = try db.cachedStatement(
                    sql: "SELECT count(*), sum(priority = \(OutboxMessage.Priority.telemetry.rawValue)), max(sequence) FROM outbox WHERE sequence BETWEEN ? AND ?").sqliteStatement
                let delete = try db.cachedStatement(sql: "DELETE FROM outbox WHERE sequence BETWEEN ? AND ?").sqliteStatement
                let sorted = sequences.sorted()
                var start = 0
                while start < sorted.count {
                    var end = start
                    while end + 1 < sorted.count, sorted[end + 1] <= sorted[end] + 1 { end += 1 }
                    for statement in [tally, delete] {
                        sqlite3_reset(statement)
                        sqlite3_bind_int64(statement, 1, sorted[start])
                        sqlite3_bind_int64(statement, 2, sorted[end])
                        var code = sqlite3_step(statement)
                        while code == SQLITE_ROW {
                            // An empty range gives 0, NULL, NULL: NULL reads as 0.
                            let count = Int(sqlite3_column_int64(statement, 0))
                            let telemetry = Int(sqlite3_column_int64(statement, 1))
                            highest = max(highest, sqlite3_column_int64(statement, 2))
                            next.depthTelemetry -= telemetry
                            next.depthKept -= count - telemetry
                            code = sqlite3_step(statement)
                        }
                        sqlite3_reset(statement)
                        guard code == SQLITE_DONE else { throw Self.failure(code, db) }
                    }
                    start = end + 1
                }
                if highest > 0 { try Self.raiseFloor(to: highest, db) }
                return .commit
            } }
            counters = next
        } catch {
            throw Self.classify(error, place: path ?? "in-memory outbox")
        }
    }

    private static func failure(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// The database's size, its pages times the page size: what the file holds on disk
    /// (for an in-memory store, what it would hold — the simulator's disk figure).
    public func databaseBytes() throws(OutboxError) -> Int {
        do {
            return try database.writeWithoutTransaction { db in try DatabaseSize.bytes(db) }
        } catch {
            throw Self.classify(error, place: path ?? "in-memory outbox")
        }
    }

    public func messages(after sequence: Int64, limit: Int) throws(OutboxError) -> [OutboxMessage] {
        precondition(limit > 0)
        do {
            // One SELECT reads a consistent state on its own; `read` would open a transaction,
            // which the in-memory store already holds.
            return try database.writeWithoutTransaction { db in
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT sequence, message_id, topic, priority, payload FROM outbox WHERE sequence > ? ORDER BY sequence LIMIT ?",
                    arguments: [sequence, limit])
                var messages: [OutboxMessage] = []
                while let row = try rows.next() {
                    let payload: Data = row[4]
                    messages.append(OutboxMessage(sequence: row[0], messageID: row[1], topic: row[2],
                                                  priority: OutboxMessage.Priority(rawValue: row[3]) ?? .kept,
                                                  payload: [UInt8](payload)))
                }
                return messages
            }
        } catch {
            throw Self.classify(error, place: path ?? "in-memory outbox")
        }
    }

    // MARK: Schema and files

    /// Creates the schema in a new database, or checks an existing one and reads its counters.
    private static func migrate(_ db: Database, place: String) throws -> OutboxCounters {
        if try db.tableExists("meta") {
            guard let row = try Row.fetchOne(db, sql: "SELECT schema_version, evicted_telemetry, evicted_kept, sequence_floor FROM meta"),
                  try db.tableExists("outbox") else {
                throw OutboxError.unusable("\(place): the meta row or the outbox table is missing")
            }
            let version: Int = row[0]
            guard version == schemaVersion else {
                throw OutboxError.unusable("\(place): schema version \(version), this hub reads \(schemaVersion)")
            }
            // Every sequence ever committed is in the outbox or was deleted in a transaction that
            // raised the floor to it, so ids are never reused, even after every row is gone.
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM outbox") ?? 0
            let floor: Int64 = row[3]
            var counters = OutboxCounters(evictedTelemetry: row[1], evictedKept: row[2], lastSequence: max(highest, floor))
            for row in try Row.fetchAll(db, sql: "SELECT priority, COUNT(*) FROM outbox GROUP BY priority") {
                let priority: Int = row[0]
                let count: Int = row[1]
                if priority == OutboxMessage.Priority.telemetry.rawValue { counters.depthTelemetry = count } else { counters.depthKept += count }
            }
            return counters
        }
        guard try String.fetchAll(db, sql: "SELECT name FROM sqlite_master").isEmpty else {
            throw OutboxError.unusable("\(place): a database of something else (no outbox meta table)")
        }
        try db.execute(sql: """
            CREATE TABLE meta (schema_version INTEGER NOT NULL, evicted_telemetry INTEGER NOT NULL,
                               evicted_kept INTEGER NOT NULL, sequence_floor INTEGER NOT NULL);
            INSERT INTO meta VALUES (\(schemaVersion), 0, 0, 0);
            CREATE TABLE outbox (sequence INTEGER PRIMARY KEY, message_id TEXT NOT NULL, topic TEXT NOT NULL,
                                 priority INTEGER NOT NULL, payload BLOB NOT NULL);
            """)
        return OutboxCounters()
    }

    /// Keeps the highest sequence ever deleted, so a restart never hands out an id again.
    private static func raiseFloor(to sequence: Int64, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "UPDATE meta SET sequence_floor = max(sequence_floor, ?)").sqliteStatement
        sqlite3_reset(statement)
        sqlite3_bind_int64(statement, 1, sequence)
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else { throw failure(code, db) }
    }

    /// The `count` oldest messages of `priority` (any priority for `.kept`, the last resort), deleted.
    private static func evictOldest(_ db: Database, count: Int, priority: OutboxMessage.Priority) throws -> [String] {
        let filter = priority == .telemetry ? "WHERE priority = 0" : ""
        let victims = try Row.fetchAll(db, sql: "SELECT sequence, message_id FROM outbox \(filter) ORDER BY sequence LIMIT ?",
                                       arguments: [count])
        guard let lastVictim: Int64 = victims.last?[0] else { return [] }
        try db.execute(sql: "DELETE FROM outbox WHERE sequence <= ? \(priority == .telemetry ? "AND priority = 0" : "")",
                       arguments: [lastVictim])
        return victims.map { $0[1] }
    }

    private static func classify(_ error: any Error, place: String) -> OutboxError {
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
            return .full("\(place): \(describe(error))")
        }
        return .storage("\(place): \(describe(error))")
    }

    private static func describe(_ error: any Error) -> String { OwnerOnlyDatabase.describe(error) }
}
