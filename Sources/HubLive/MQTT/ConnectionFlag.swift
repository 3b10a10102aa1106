import Synchronization

/// Whether an MQTT client has connected once (set on its thread, read by another).
public final class ConnectionFlag: Sendable {
    private let connected = Atomic<Bool>(false)

    public init() {}

    public var isUp: Bool { connected.load(ordering: .relaxed) }

    public func up() { connected.store(true, ordering: .relaxed) }
}
