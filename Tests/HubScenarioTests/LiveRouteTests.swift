import HubCore
import HubKernel
import HubScenario
import HubSim
import Testing

@Suite("Live routes: each timeline entry goes where its fault lives for real")
struct LiveRouteTests {
    @Test("wire faults and component and IPC faults go to the hub's control socket, link faults to the proxy, the rest to the world or the rig")
    func routes() throws {
        #expect(try LiveRoute.of(.i2cWire(address: 0x5f, .nack(probability: 0.5))) == .hub(.i2cWire(address: 0x5f, .nack(probability: 0.5))))
        #expect(try LiveRoute.of(.component(name: "inference", .crash)) == .hub(.componentCrash("inference")))
        #expect(try LiveRoute.of(.component(name: "display", .hang)) == .hub(.componentHang("display")))
        #expect(try LiveRoute.of(.ipc(.down)) == .hub(.ipcDown))
        #expect(try LiveRoute.of(.ipc(.restart)) == .hub(.ipcRestart))
        #expect(try LiveRoute.of(.ipc(.slow(latency: .seconds(3)))) == .hub(.ipcSlow(latency: .seconds(3))))
        #expect(try LiveRoute.of(.ipc(.drop(chance: 0.02))) == .hub(.ipcDrop(probability: 0.02)))
        #expect(try LiveRoute.of(.cloud(.offline)) == .proxy(.offline))
        #expect(try LiveRoute.of(.cloud(.latency(extra: .seconds(2), jitter: .milliseconds(300)))) == .proxy(.latency(extra: .seconds(2), jitter: .milliseconds(300))))
        #expect(try LiveRoute.of(.i2cStuck(address: 0x5c)) == .world)
        #expect(try LiveRoute.of(.kit(device: "freezer", .silent)) == .world)
        #expect(try LiveRoute.of(.kit(device: "freezer", .impersonate)) == .world)
        #expect(try LiveRoute.of(.revokeKit("freezer")) == .revoke("freezer"))
        #expect(try LiveRoute.of(.deployment(.badModel)) == .world)
        #expect(try LiveRoute.of(.deployment(.corruptArtifact)) == .world)
        #expect(try LiveRoute.of(.powerLoss) == .powerLoss)
        let spec = DeploymentSpec(id: "d1")
        #expect(try LiveRoute.of(.deploy(spec)) == .publish(spec))
    }

    @Test("faults that need the simulator's insides are refused with the reason", arguments: [
        (SimFault.cloud(.rejectAuth), "broker's insides"), (.cloud(.flaky(chance: 0.1)), "broker's insides"),
        (.component(name: "sensor", .crashloop), "only in simulation"), (.deployment(.diskFull), "only in simulation"),
        (.deployment(.crashloopComponent), "only in simulation"), (.gpio(.stuck(line: 23, level: true)), "GPIO chip"),
        (.kit(device: "freezer", .foreignCA), "one certificate"), (.kit(device: "freezer", .expiredCertificate), "one certificate"),
        (.kit(device: "freezer", .revokedCertificate), "one certificate"),
    ] as [(SimFault, String)])
    func refused(_ fault: SimFault, _ reason: String) {
        do {
            _ = try LiveRoute.of(fault)
            Issue.record("\(fault.name) was routed")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test("expectations judged from the simulator's end-of-run totals are refused for live runs; the rest are not")
    func expectations() {
        for expectation in [Expectation.outboxDepthMax(10), .cloudBytesPerDayMax(1), .cloudAttemptsMax(1), .kitRejectedMin(1), .noCorruptedReading] {
            #expect(LiveRoute.unsupported(expectation) != nil, "\(expectation.label)")
        }
        for expectation in [Expectation.noReadingLost, .readingsEveryPoll(device: nil), .ipcDropped(component: "sensor", min: 0, max: 0), .componentState(component: "sensor", state: .running)] {
            #expect(LiveRoute.unsupported(expectation) == nil, "\(expectation.label)")
        }
    }
}
