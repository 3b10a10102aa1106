import GRDB

/// A SQLite database's size as its file holds it: pages in use or free, times the page
/// size. The same figure for a file and an in-memory database, which is why the simulator
/// can state the disk a hub's stores would take.
enum DatabaseSize {
    static func bytes(_ db: Database) throws -> Int {
        let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
        return pages * size
    }
}
