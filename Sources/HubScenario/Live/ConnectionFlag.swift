import Synchronization

/// Whether an MQTT client has connected once (set on its thread, read by the run's).
final class ConnectionFlag: Sendable {
    private let connected = Atomic<Bool>(false)

    var isUp: Bool { connected.load(ordering: .relaxed) }

    func up() { connected.store(true, ordering: .relaxed) }
}
