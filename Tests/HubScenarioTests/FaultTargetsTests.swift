import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

@Suite("Fault targets")
struct FaultTargetsTests {
    /// The I²C table the loader checks against agrees with the simulator's kits.
    @Test("the fault-target table matches the simulated kits")
    func targetsMatchSimulator() {
        final class Clock: HubClock { var now = Instant(nanosecondsSinceEpoch: 0) }
        final class Silent: HistorySink { func record(_ event: HistoryEvent, at time: Instant) {} }
        let kinds = SimulatedAppliances.kinds
        let world = SimWorld(devices: kinds.enumerated().map { HubConfig.Device(id: DeviceID(stringLiteral: "d\($0.offset)"), kind: $0.element) },
                             seed: 1, start: Instant(nanosecondsSinceEpoch: 0), clock: Clock(), history: Silent())
        for (index, kit) in world.kits.enumerated() {
            for part in FaultTargets.parts(kind: kit.device.kind, first: index == 0) {
                #expect(kit.bus.device(at: part.address) != nil, "\(part.name) at \(part.address) on \(kit.device.kind)")
                #expect((kit.bus.device(at: part.address) is any SimFaultableChip) == part.chipFaults, "\(part.name)")
            }
        }
    }
}
