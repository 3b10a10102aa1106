/// A message kept in the outbox until the cloud acknowledges it.
///
/// The sequence is the hub's order of hand-over (strictly increasing, never reused, also
/// across restarts); the message id is what the cloud de-duplicates on, so a message sent
/// again after a crash keeps it.
public struct OutboxMessage: Equatable, Sendable {
    /// Which eviction rule a message falls under when the outbox is full.
    public enum Priority: Int, Sendable, CaseIterable {
        /// Evicted first, oldest first, once the outbox holds more than `countMax`.
        case telemetry = 0
        /// Alerts and health: kept until the outbox holds more than `hardCountMax`.
        case kept = 1
    }

    public var sequence: Int64
    public var messageID: String
    public var topic: String
    public var priority: Priority
    public var payload: [UInt8]

    public init(sequence: Int64, messageID: String, topic: String, priority: Priority, payload: [UInt8]) {
        self.sequence = sequence
        self.messageID = messageID
        self.topic = topic
        self.priority = priority
        self.payload = payload
    }
}

/// The outbox's bounds: when it holds more than `countMax` messages the oldest telemetry
/// goes; alerts and health go (oldest first) only beyond `hardCountMax`. `fileBytesMax`
/// caps the database file (nil: the disk is the limit); reaching it is a full disk.
public struct OutboxLimits: Equatable, Sendable {
    public var countMax: Int
    public var hardCountMax: Int
    public var fileBytesMax: Int?

    public init(countMax: Int = 1_000_000, hardCountMax: Int = 1_100_000, fileBytesMax: Int? = nil) {
        precondition(countMax > 0 && hardCountMax >= countMax, "0 < countMax ≤ hardCountMax")
        precondition(fileBytesMax.map { $0 >= 65_536 } ?? true, "fileBytesMax at least 64 KiB")
        self.countMax = countMax
        self.hardCountMax = hardCountMax
        self.fileBytesMax = fileBytesMax
    }
}

/// Exact counts of what the outbox holds and what it had to give up, kept with the data.
public struct OutboxCounters: Equatable, Sendable {
    /// Messages held now, of each priority.
    public var depthTelemetry: Int
    public var depthKept: Int
    /// Messages evicted since the store was created (not since the process started).
    public var evictedTelemetry: Int64
    public var evictedKept: Int64
    /// The highest sequence ever committed (0 for a new store).
    public var lastSequence: Int64

    public init(depthTelemetry: Int = 0, depthKept: Int = 0, evictedTelemetry: Int64 = 0, evictedKept: Int64 = 0,
                lastSequence: Int64 = 0) {
        self.depthTelemetry = depthTelemetry
        self.depthKept = depthKept
        self.evictedTelemetry = evictedTelemetry
        self.evictedKept = evictedKept
        self.lastSequence = lastSequence
    }

    public var depth: Int { depthTelemetry + depthKept }
}

/// Why the outbox could not do what was asked; the data it held is unchanged.
public enum OutboxError: Error, Equatable, CustomStringConvertible {
    /// The disk (or the database's size limit) is full: nothing of the failed append was committed.
    case full(String)
    /// The file cannot be opened or is not an outbox (the reason names the path).
    case unusable(String)
    /// Any other storage error.
    case storage(String)

    public var description: String {
        switch self {
        case .full(let detail): "outbox full: \(detail)"
        case .unusable(let detail): "outbox unusable: \(detail)"
        case .storage(let detail): "outbox storage error: \(detail)"
        }
    }
}

/// The durable outbox, behind a synchronous port: an append returns only once its messages
/// are committed, and a message leaves only when `remove` is told its id was acknowledged.
///
/// Why synchronous: the uplink's promise is "committed before the producing action
/// completes", which a queue in front of the disk would break. Live hubs use a file; the
/// simulator uses the same store over an in-memory database, so scenarios exercise the
/// same SQL, eviction and counters.
public protocol OutboxStore: AnyObject {
    /// What the store holds and has evicted.
    var counters: OutboxCounters { get }
    /// Commits `messages` (sequences strictly above `counters.lastSequence`, increasing) in
    /// one transaction, evicting as `OutboxLimits` says; returns the evicted messages' ids,
    /// oldest first. On error nothing of this call was committed.
    func append(_ messages: [OutboxMessage]) throws(OutboxError) -> [String]
    /// Deletes the messages with these sequences (unknown ones are ignored: an
    /// acknowledgement can arrive for a message evicted meanwhile).
    func remove(sequences: [Int64]) throws(OutboxError)
    /// Up to `limit` messages in sequence order, starting after `sequence`.
    func messages(after sequence: Int64, limit: Int) throws(OutboxError) -> [OutboxMessage]
}

/// A cloud message's id, `<thing>-<sequence>`: the outbox's sequence behind the hub's name,
/// written by the uplink and read back by whoever accounts for delivery (the checkers, the
/// cloud sink).
public enum MessageID {
    public static func make(thing: String, sequence: Int64) -> String { thing + "-" + String(sequence) }

    /// The positive sequence `id` ends in: after `thing-` when the thing is known, else after
    /// the last `-` (thing names may hold dashes themselves).
    public static func sequence(of id: String, thing: String? = nil) -> Int64? {
        if thing == nil, let sequence = trailingDigits(of: id) { return sequence }
        let digits: Substring
        if let thing {
            guard id.hasPrefix(thing), id.dropFirst(thing.count).first == "-" else { return nil }
            digits = id.dropFirst(thing.count + 1)
        } else {
            guard let dash = id.lastIndex(of: "-") else { return nil }
            digits = id[id.index(after: dash)...]
        }
        guard let sequence = Int64(digits), sequence > 0 else { return nil }
        return sequence
    }

    /// The common case read straight from the UTF-8 bytes: a `-` followed by 1…18 ASCII
    /// digits worth more than 0. Anything else (a sign, more digits, no dash) is nil and
    /// goes the general way, so the answer is the same; this way costs a tenth of
    /// `lastIndex(of:)` and `Int64(Substring)`, and the checkers read an id per reading.
    private static func trailingDigits(of id: String) -> Int64? {
        var id = id
        return id.withUTF8 { utf8 -> Int64? in
            var index = utf8.count
            var value: Int64 = 0
            var scale: Int64 = 1
            while index > 0 {
                let byte = utf8[index - 1]
                if byte == UInt8(ascii: "-") { break }
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), utf8.count - index < 18 else { return nil }
                value += Int64(byte - UInt8(ascii: "0")) * scale
                scale *= 10
                index -= 1
            }
            guard index > 0, index < utf8.count, value > 0 else { return nil }
            return value
        }
    }
}
